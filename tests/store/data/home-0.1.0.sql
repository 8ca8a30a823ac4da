BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0004');
CREATE TABLE api_tokens (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	scope VARCHAR(20) NOT NULL, 
	endpoints JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(200) NOT NULL, 
	revoked_at DATETIME, 
	revoked_by VARCHAR(200), 
	CONSTRAINT pk_api_tokens PRIMARY KEY (id)
);
INSERT INTO "api_tokens" VALUES('1f40396dde28','site','d2837b8782aca72e54f8ed593942b63c2773cd8e66b36594c8244740ef6b920c','invoke','["legacy"]','2026-12-01 14:20:17.708893','legacy-maker',NULL,NULL);
INSERT INTO "api_tokens" VALUES('6d0c18c6ac37','ops','914777208ad2bb6e56b940359cb9e32d45d2b1a020e8cd741bac1e24774d467a','admin','[]','2026-12-01 14:20:17.710477','legacy-maker','2026-12-01 14:20:17.712221','legacy-maker');
CREATE TABLE artifacts (
	hash VARCHAR(64) NOT NULL, 
	materializer VARCHAR(100) NOT NULL, 
	type_name VARCHAR(300) NOT NULL, 
	size BIGINT NOT NULL, 
	meta JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_artifacts PRIMARY KEY (hash)
);
INSERT INTO "artifacts" VALUES('1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553','json','builtins.list',9,'{"kind": "list"}','2026-12-01 14:20:16.987972');
INSERT INTO "artifacts" VALUES('d39ad44ae020da945b75ef52a45fcadc6619c5fd9c10387ab5afdfb9a99e6269','pandas-parquet','pandas.DataFrame',2823,'{"rows": 30, "columns": ["x", "y", "label"]}','2026-12-01 14:20:17.113751');
INSERT INTO "artifacts" VALUES('4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce','json','builtins.int',1,'{"kind": "int", "value": 3}','2026-12-01 14:20:17.116193');
INSERT INTO "artifacts" VALUES('5040e61d3328ff4e7b3ab02ce317582109ff9419eb46cd853b406d332b47bff8','alambic-model','alambic.models._model.Model',2777,'{"flavor": "sklearn", "size_bytes": 2607}','2026-12-01 14:20:17.563844');
INSERT INTO "artifacts" VALUES('0630b868d03640ae4b5b895d7565a673056ce388c3dfd604e26e7107bedef7f7','json','builtins.dict',108,'{"kind": "dict"}','2026-12-01 14:20:17.600949');
CREATE TABLE audit_log (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	action VARCHAR(40) NOT NULL, 
	"group" VARCHAR(100) NOT NULL, 
	version INTEGER, 
	alias VARCHAR(100), 
	"before" JSON, 
	"after" JSON, 
	comment TEXT NOT NULL, 
	CONSTRAINT pk_audit_log PRIMARY KEY (id)
);
INSERT INTO "audit_log" VALUES(1,'2026-12-01 14:20:17.596324','legacy-maker','create-group','legacy-flow-model',NULL,NULL,'null','{"policy": {}}','');
INSERT INTO "audit_log" VALUES(2,'2026-12-01 14:20:17.598550','legacy-maker','register','legacy-flow-model',1,NULL,'null','{"status": "PendingManualApproval", "model": "9da14504146d67afb9c7283980005c865f7480781b6b474b9f0397c37c677443"}','');
INSERT INTO "audit_log" VALUES(3,'2026-12-01 14:20:17.637454','legacy-maker','create-group','legacy-model',NULL,NULL,'null','{"policy": {}}','');
INSERT INTO "audit_log" VALUES(4,'2026-12-01 14:20:17.638067','legacy-maker','register','legacy-model',1,NULL,'null','{"status": "PendingManualApproval", "model": "98228e22c854d415e6358c327407a8a94bf9f5abb0292b288771895adee6036f"}','');
INSERT INTO "audit_log" VALUES(5,'2026-12-01 14:20:17.646079','legacy-maker','register','legacy-model',2,NULL,'null','{"status": "PendingManualApproval", "model": "ee2112cfecc354a7bdce48ffc6e36e37e7d3697c7854e4d1a7f53ee7be27897e"}','');
INSERT INTO "audit_log" VALUES(6,'2026-12-01 14:20:17.653823','legacy-maker','register','legacy-model',3,NULL,'null','{"status": "PendingManualApproval", "model": "372e9b1df46a4c7f212be53125e64e90695871272149de6e00762cc5286a538b"}','');
INSERT INTO "audit_log" VALUES(7,'2026-12-01 14:20:17.661055','legacy-maker','register','legacy-model',4,NULL,'null','{"status": "PendingManualApproval", "model": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef"}','');
INSERT INTO "audit_log" VALUES(8,'2026-12-01 14:20:17.663509','legacy-maker','approve','legacy-model',1,NULL,'{"status": "PendingManualApproval", "deleted": false}','{"status": "Approved", "deleted": false}','first look');
INSERT INTO "audit_log" VALUES(9,'2026-12-01 14:20:17.666364','legacy-maker','approve','legacy-model',2,NULL,'{"status": "PendingManualApproval", "deleted": false}','{"status": "Approved", "deleted": false}','better');
INSERT INTO "audit_log" VALUES(10,'2026-12-01 14:20:17.668217','legacy-maker','reject','legacy-model',3,NULL,'{"status": "PendingManualApproval", "deleted": false}','{"status": "Rejected", "deleted": false}','overfits');
INSERT INTO "audit_log" VALUES(11,'2026-12-01 14:20:17.672422','legacy-maker','move-alias','legacy-model',1,'staging','{"version": null}','{"version": 1}','');
INSERT INTO "audit_log" VALUES(12,'2026-12-01 14:20:17.674920','legacy-maker','move-alias','legacy-model',2,'staging','{"version": 1}','{"version": 2}','');
INSERT INTO "audit_log" VALUES(13,'2026-12-01 14:20:17.676864','legacy-maker','move-alias','legacy-model',2,'production','{"version": null}','{"version": 2}','go');
INSERT INTO "audit_log" VALUES(14,'2026-12-01 14:20:17.678258','legacy-maker','create-group','legacy-hooked',NULL,NULL,'null','{"policy": {}}','');
INSERT INTO "audit_log" VALUES(15,'2026-12-01 14:20:17.678293','legacy-maker','set-policy','legacy-hooked',NULL,NULL,'{"policy": {}}','{"policy": {"approval": "manual", "auto_approve": {}, "require_staging": false, "stage_on_approval": false, "webhooks": [{"url": "http://127.0.0.1:9/unreachable"}], "allow_pickle": false}}','');
INSERT INTO "audit_log" VALUES(16,'2026-12-01 14:20:17.683236','legacy-maker','register','legacy-hooked',1,NULL,'null','{"status": "PendingManualApproval", "model": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef"}','');
INSERT INTO "audit_log" VALUES(17,'2026-12-01 14:20:17.700824','legacy-maker','create-endpoint','endpoint:legacy',NULL,NULL,'null','{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','');
INSERT INTO "audit_log" VALUES(18,'2026-12-01 14:20:17.704762','legacy-maker','update-endpoint','endpoint:legacy',NULL,NULL,'{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.1, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','holdout for the study');
INSERT INTO "audit_log" VALUES(19,'2026-12-01 14:20:17.707247','legacy-maker','create-endpoint','endpoint:legacy-gone',NULL,NULL,'null','{"variants": [{"name": "legacy-model/1", "model": "legacy-model/1", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": true, "capture": 1.0, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','');
INSERT INTO "audit_log" VALUES(20,'2026-12-01 14:20:17.707993','legacy-maker','delete-endpoint','endpoint:legacy-gone',NULL,NULL,'{"variants": [{"name": "legacy-model/1", "model": "legacy-model/1", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": true, "capture": 1.0, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','null','');
INSERT INTO "audit_log" VALUES(21,'2026-12-01 14:20:17.709899','legacy-maker','create-token','token:1f40396dde28',NULL,NULL,'null','{"name": "site", "scope": "invoke", "endpoints": ["legacy"]}','');
INSERT INTO "audit_log" VALUES(22,'2026-12-01 14:20:17.710774','legacy-maker','create-token','token:6d0c18c6ac37',NULL,NULL,'null','{"name": "ops", "scope": "admin", "endpoints": []}','');
INSERT INTO "audit_log" VALUES(23,'2026-12-01 14:20:17.712232','legacy-maker','revoke-token','token:6d0c18c6ac37',NULL,NULL,'null','null','');
CREATE TABLE endpoints (
	name VARCHAR(100) NOT NULL, 
	config JSON NOT NULL, 
	revision INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(200) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	updated_by VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_endpoints PRIMARY KEY (name)
);
INSERT INTO "endpoints" VALUES('legacy','{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.1, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}',2,'2026-12-01 14:20:17.699930','legacy-maker','2026-12-01 14:20:17.704757','legacy-maker');
CREATE TABLE experiments (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	tags JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_experiments PRIMARY KEY (id), 
	CONSTRAINT uq_experiments_name UNIQUE (name)
);
INSERT INTO "experiments" VALUES('exp-20261201-142017-775b08b1a46b','legacy','{}','2026-12-01 14:20:17.569463');
CREATE TABLE metrics (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	"key" VARCHAR(250) NOT NULL, 
	value FLOAT NOT NULL, 
	step BIGINT NOT NULL, 
	timestamp FLOAT NOT NULL, 
	CONSTRAINT pk_metrics PRIMARY KEY (id)
);
INSERT INTO "metrics" VALUES(1,'trk-20261201-142017-af6e551ee3ff','loss',1.0,0,1.79613481762333416936e+09);
INSERT INTO "metrics" VALUES(2,'trk-20261201-142017-af6e551ee3ff','loss',0.5,1,1.7961348176233417988e+09);
INSERT INTO "metrics" VALUES(3,'trk-20261201-142017-af6e551ee3ff','loss',3.33333333333333314829e-01,2,1.7961348176233444214e+09);
INSERT INTO "metrics" VALUES(4,'trk-20261201-142017-af6e551ee3ff','loss',0.25,3,1.79613481762334609029e+09);
CREATE TABLE model_aliases (
	"group" VARCHAR(100) NOT NULL, 
	alias VARCHAR(100) NOT NULL, 
	version INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	updated_by VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_model_aliases PRIMARY KEY ("group", alias), 
	CONSTRAINT fk_model_aliases_group_model_groups FOREIGN KEY("group") REFERENCES model_groups (name)
);
INSERT INTO "model_aliases" VALUES('legacy-model','staging',2,'2026-12-01 14:20:17.674909','legacy-maker');
INSERT INTO "model_aliases" VALUES('legacy-model','production',2,'2026-12-01 14:20:17.676823','legacy-maker');
CREATE TABLE model_groups (
	name VARCHAR(100) NOT NULL, 
	description TEXT NOT NULL, 
	policy JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_model_groups PRIMARY KEY (name)
);
INSERT INTO "model_groups" VALUES('legacy-flow-model','','{}','2026-12-01 14:20:17.595501','legacy-maker');
INSERT INTO "model_groups" VALUES('legacy-model','','{}','2026-12-01 14:20:17.637085','legacy-maker');
INSERT INTO "model_groups" VALUES('legacy-hooked','','{"approval": "manual", "auto_approve": {}, "require_staging": false, "stage_on_approval": false, "webhooks": [{"url": "http://127.0.0.1:9/unreachable"}], "allow_pickle": false}','2026-12-01 14:20:17.678028','legacy-maker');
CREATE TABLE model_versions (
	id VARCHAR(64) NOT NULL, 
	"group" VARCHAR(100) NOT NULL, 
	version INTEGER NOT NULL, 
	model JSON NOT NULL, 
	signature JSON, 
	metrics JSON NOT NULL, 
	evaluation JSON, 
	tags JSON NOT NULL, 
	description TEXT NOT NULL, 
	lineage JSON NOT NULL, 
	status VARCHAR(40) NOT NULL, 
	status_comment TEXT NOT NULL, 
	status_by VARCHAR(200) NOT NULL, 
	status_at DATETIME NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(200) NOT NULL, 
	deleted_at DATETIME, 
	CONSTRAINT pk_model_versions PRIMARY KEY (id), 
	CONSTRAINT uq_model_versions_group UNIQUE ("group", version), 
	CONSTRAINT fk_model_versions_group_model_groups FOREIGN KEY("group") REFERENCES model_groups (name)
);
INSERT INTO "model_versions" VALUES('mv-20261201-142017-1fec196b8774','legacy-flow-model',1,'{"hash": "9da14504146d67afb9c7283980005c865f7480781b6b474b9f0397c37c677443", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 2870, "meta": {"flavor": "sklearn", "size_bytes": 2695}}','{"inputs": [["x", "int64"], ["y", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{}','null','{}','','{"code": {}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "run": "run-20261201-142016-d5f6c7142a6a", "pipeline": "legacy", "pipeline_hash": "eb31fcfbc0c2349fa682e9182786c8e655c900bd67c509235a8bf481f571e58e", "step": "register", "step_run": "step-20261201-142016-175907af1b78", "params": {"n": 3, "fail": false}, "data": {"sql": "e99d0fe9b1d11d7ad63c3f5b42cc4d0d152988586915be55cb9a6876b21d6bea"}, "size_bytes": 2695, "flavor": "sklearn"}','PendingManualApproval','','legacy-maker','2026-12-01 14:20:17.598392','2026-12-01 14:20:17.598392','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-142017-6e4a7e7b96c7','legacy-model',1,'{"hash": "98228e22c854d415e6358c327407a8a94bf9f5abb0292b288771895adee6036f", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1759, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.805}','null','{}','','{"code": {}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','Approved','first look','legacy-maker','2026-12-01 14:20:17.663494','2026-12-01 14:20:17.637996','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-142017-8db8141031b6','legacy-model',2,'{"hash": "ee2112cfecc354a7bdce48ffc6e36e37e7d3697c7854e4d1a7f53ee7be27897e", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1761, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.81}','null','{}','','{"code": {}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','Approved','better','legacy-maker','2026-12-01 14:20:17.666351','2026-12-01 14:20:17.645997','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-142017-1bc288feb91f','legacy-model',3,'{"hash": "372e9b1df46a4c7f212be53125e64e90695871272149de6e00762cc5286a538b", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1759, "meta": {"flavor": "sklearn", "size_bytes": 1539}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.8200000000000001}','null','{}','','{"code": {}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1539, "flavor": "sklearn"}','Rejected','overfits','legacy-maker','2026-12-01 14:20:17.668206','2026-12-01 14:20:17.653746','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-142017-905da74cf99a','legacy-model',4,'{"hash": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1760, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.8400000000000001}','null','{}','','{"code": {}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','PendingManualApproval','','legacy-maker','2026-12-01 14:20:17.660983','2026-12-01 14:20:17.660983','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-142017-c28bf14a51fd','legacy-hooked',1,'{"hash": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1760, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{}','null','{}','','{"code": {}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','PendingManualApproval','','legacy-maker','2026-12-01 14:20:17.683163','2026-12-01 14:20:17.683163','legacy-maker',NULL);
CREATE TABLE pipelines (
	hash VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	definition JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_pipelines PRIMARY KEY (hash)
);
INSERT INTO "pipelines" VALUES('eb31fcfbc0c2349fa682e9182786c8e655c900bd67c509235a8bf481f571e58e','legacy','{"name": "legacy", "params": {"n": {"type": "int", "required": false, "default": 3}, "fail": {"type": "bool", "required": false, "default": false}}, "nodes": {"rows": {"id": "rows", "step": "rows", "code": {"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "rows"}, "code_hash": "c8aebb9780219303d8dbfe7090b75074ebcb667dfc3697bdb736058a48774044", "args": {"n": {"param": "n"}}, "scopes": [], "guards": [], "outputs": ["return"], "fingerprint": false, "retries": 0, "retry_delay": 1.0, "backoff": 2.0, "timeout": null, "cache": true, "allow_pickle": false}, "total": {"id": "total", "step": "total", "code": {"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "total"}, "code_hash": "5c9ba09d132d2869436e99820aa199faa6eeff0fe02b356d2c7d89d8d2f513b7", "args": {"values": {"output": "rows", "name": "return"}, "fail": {"param": "fail"}}, "scopes": [], "guards": [], "outputs": ["return"], "fingerprint": false, "retries": 0, "retry_delay": 1.0, "backoff": 2.0, "timeout": null, "cache": true, "allow_pickle": false}, "sql": {"id": "sql", "step": "sql", "code": {"module": "alambic.data._sql", "file": "/work/baseline/src/alambic/data/_sql.py", "qualname": "_run_sql"}, "code_hash": "e05fff87e593bc06ac1c1a743b3ac6ae9201e4e92f6938c5738c62fff8a8912e", "args": {"text": {"const": "SELECT * FROM t ORDER BY x"}, "sources": {"dict": {"t": {"const": "legacy.csv"}}}}, "scopes": [], "guards": [], "outputs": ["return"], "fingerprint": true, "retries": 0, "retry_delay": 1.0, "backoff": 2.0, "timeout": null, "cache": true, "allow_pickle": false}, "fit": {"id": "fit", "step": "fit", "code": {"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "fit"}, "code_hash": "5827e1b7b35274fc65da4de7553be2215b875bed257b0cb4829b652c0b90fd6f", "args": {"table": {"output": "sql", "name": "return"}}, "scopes": [], "guards": [], "outputs": ["return"], "fingerprint": false, "retries": 0, "retry_delay": 1.0, "backoff": 2.0, "timeout": null, "cache": true, "allow_pickle": false}, "register": {"id": "register", "step": "register", "code": {"module": "alambic.registry._registry", "file": "/work/baseline/src/alambic/registry/_registry.py", "qualname": "register"}, "code_hash": "5ea88af95ef3cb2fb73a656dd50068a78b1d10da7a584c30952e4c31406d8660", "args": {"model": {"output": "fit", "name": "return"}, "name": {"const": "legacy-flow-model"}}, "scopes": [], "guards": [], "outputs": ["return"], "fingerprint": false, "retries": 0, "retry_delay": 1.0, "backoff": 2.0, "timeout": null, "cache": true, "allow_pickle": false}}, "maps": {}, "conditions": {}, "outputs": null, "code": {"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "legacy"}}','2026-12-01 14:20:16.892175');
CREATE TABLE registry_events (
	id VARCHAR(64) NOT NULL, 
	type VARCHAR(40) NOT NULL, 
	"group" VARCHAR(100) NOT NULL, 
	version INTEGER, 
	payload JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	attempts INTEGER NOT NULL, 
	outcome JSON NOT NULL, 
	next_attempt_at DATETIME, 
	CONSTRAINT pk_registry_events PRIMARY KEY (id)
);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-1d48a535811a','version_registered','legacy-flow-model',1,'{"type": "version_registered", "group": "legacy-flow-model", "version": 1, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 14:20:17.598591','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-b90425234208','version_registered','legacy-model',1,'{"type": "version_registered", "group": "legacy-model", "version": 1, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 14:20:17.638095','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-011f9196ef38','version_registered','legacy-model',2,'{"type": "version_registered", "group": "legacy-model", "version": 2, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 14:20:17.646115','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-a2a64a141dfe','version_registered','legacy-model',3,'{"type": "version_registered", "group": "legacy-model", "version": 3, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 14:20:17.653858','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-d8125a2526bf','version_registered','legacy-model',4,'{"type": "version_registered", "group": "legacy-model", "version": 4, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 14:20:17.661089','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-fb820ccab8c7','version_approved','legacy-model',1,'{"type": "version_approved", "group": "legacy-model", "version": 1, "actor": "legacy-maker", "comment": "first look"}','2026-12-01 14:20:17.663566','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-ed9ead57311a','version_approved','legacy-model',2,'{"type": "version_approved", "group": "legacy-model", "version": 2, "actor": "legacy-maker", "comment": "better"}','2026-12-01 14:20:17.666419','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-59139a4ead3f','version_rejected','legacy-model',3,'{"type": "version_rejected", "group": "legacy-model", "version": 3, "actor": "legacy-maker", "comment": "overfits"}','2026-12-01 14:20:17.668269','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-fcba158de8d4','alias_moved','legacy-model',1,'{"type": "alias_moved", "group": "legacy-model", "version": 1, "alias": "staging", "previous": null, "actor": "legacy-maker"}','2026-12-01 14:20:17.672617','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-3a5989ef9d7d','alias_moved','legacy-model',2,'{"type": "alias_moved", "group": "legacy-model", "version": 2, "alias": "staging", "previous": 1, "actor": "legacy-maker"}','2026-12-01 14:20:17.674975','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-921c5597908c','alias_moved','legacy-model',2,'{"type": "alias_moved", "group": "legacy-model", "version": 2, "alias": "production", "previous": null, "actor": "legacy-maker"}','2026-12-01 14:20:17.676902','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-142017-721bcfa2805d','version_registered','legacy-hooked',1,'{"type": "version_registered", "group": "legacy-hooked", "version": 1, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 14:20:17.683267','pending',1,'[{"at": "2026-12-01T14:20:17.688167+00:00", "results": {"http://127.0.0.1:9/unreachable": "URLError: <urlopen error [Errno 111] Connection refused>"}}]','2026-12-01 14:20:19.688176');
CREATE TABLE runs (
	id VARCHAR(64) NOT NULL, 
	pipeline_name VARCHAR(200) NOT NULL, 
	pipeline_hash VARCHAR(64) NOT NULL, 
	params JSON NOT NULL, 
	outputs JSON, 
	source JSON NOT NULL, 
	options JSON NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	ended_at DATETIME, 
	error TEXT, 
	orchestrator VARCHAR(200), 
	heartbeat_at DATETIME, 
	cancel_requested BOOLEAN NOT NULL, 
	CONSTRAINT pk_runs PRIMARY KEY (id), 
	CONSTRAINT fk_runs_pipeline_hash_pipelines FOREIGN KEY(pipeline_hash) REFERENCES pipelines (hash)
);
INSERT INTO "runs" VALUES('run-20261201-142016-d5f6c7142a6a','legacy','eb31fcfbc0c2349fa682e9182786c8e655c900bd67c509235a8bf481f571e58e','{"n": 3, "fail": false}','null','{"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "legacy"}','{"cache": true, "executor": null, "max_workers": null}','succeeded','2026-12-01 14:20:16.901205','2026-12-01 14:20:16.908556','2026-12-01 14:20:17.604692',NULL,'vm:31436','2026-12-01 14:20:16.902971',0);
INSERT INTO "runs" VALUES('run-20261201-142017-fd64f1d22493','legacy','eb31fcfbc0c2349fa682e9182786c8e655c900bd67c509235a8bf481f571e58e','{"n": 3, "fail": true}','null','{"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "legacy"}','{"cache": true, "executor": null, "max_workers": null}','failed','2026-12-01 14:20:17.608764','2026-12-01 14:20:17.610865','2026-12-01 14:20:17.622143','1 step(s) failed: total','vm:31436','2026-12-01 14:20:17.609423',0);
CREATE TABLE step_runs (
	id VARCHAR(64) NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	pipeline_name VARCHAR(200) NOT NULL, 
	node VARCHAR(200) NOT NULL, 
	instance VARCHAR(200) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	attempt INTEGER NOT NULL, 
	cache_key VARCHAR(64), 
	cache JSON NOT NULL, 
	inputs JSON NOT NULL, 
	outputs JSON NOT NULL, 
	cached_from VARCHAR(64), 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	ended_at DATETIME, 
	duration FLOAT, 
	error TEXT, 
	traceback TEXT, 
	log_artifact VARCHAR(64), 
	log_path TEXT, 
	CONSTRAINT pk_step_runs PRIMARY KEY (id), 
	CONSTRAINT uq_step_runs_run_id UNIQUE (run_id, node, instance), 
	CONSTRAINT fk_step_runs_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO "step_runs" VALUES('step-20261201-142016-1c55165146da','run-20261201-142016-d5f6c7142a6a','legacy','rows','','succeeded',1,'9019d29ea0c5e5adfd30723c029e115e826fa896c2538b7f9fa4e1b52a818d5f','{"hit": false, "reason": "miss: first run of this step", "components": {"code": "c8aebb9780219303d8dbfe7090b75074ebcb667dfc3697bdb736058a48774044", "args": {"n": {"v": 3, "p": []}}}}','{"n": {"value": 3}}','{"return": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}',NULL,'2026-12-01 14:20:16.910187','2026-12-01 14:20:16.984176','2026-12-01 14:20:16.987976',1.02370000604423694312e-04,NULL,NULL,NULL,'/tmp/alambic-legacy-atkbjo9e/home/logs/run-20261201-142016-d5f6c7142a6a/rows.1-42f957.log');
INSERT INTO "step_runs" VALUES('step-20261201-142016-9fc251bea3d2','run-20261201-142016-d5f6c7142a6a','legacy','total','','succeeded',1,'188de21e2f0f09d57345224d90c64a5ba6bcc1cf6f4fe24856f79bb3dea8fd3a','{"hit": false, "reason": "miss: first run of this step", "components": {"code": "5c9ba09d132d2869436e99820aa199faa6eeff0fe02b356d2c7d89d8d2f513b7", "args": {"values": {"a": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "p": []}, "fail": {"v": false, "p": []}}}}','{"values": {"artifact": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}, "fail": {"value": false}}','{"return": {"hash": "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce", "materializer": "json", "type_name": "builtins.int", "size": 1, "meta": {"kind": "int", "value": 3}}}',NULL,'2026-12-01 14:20:16.910212','2026-12-01 14:20:17.115188','2026-12-01 14:20:17.116196',1.05479000012564938515e-04,NULL,NULL,NULL,'/tmp/alambic-legacy-atkbjo9e/home/logs/run-20261201-142016-d5f6c7142a6a/total.1-83e9b0.log');
INSERT INTO "step_runs" VALUES('step-20261201-142016-face682f50d3','run-20261201-142016-d5f6c7142a6a','legacy','sql','','succeeded',1,'8625cbd2c70f6a559a4f34a0b828d02c072f468c14abb54572523bc2767419c6','{"hit": false, "reason": "miss: first run of this step", "components": {"code": "e05fff87e593bc06ac1c1a743b3ac6ae9201e4e92f6938c5738c62fff8a8912e", "args": {"text": {"v": "SELECT * FROM t ORDER BY x", "p": []}, "sources": {"t": {"v": "legacy.csv", "p": []}}}, "data": "e99d0fe9b1d11d7ad63c3f5b42cc4d0d152988586915be55cb9a6876b21d6bea"}}','{"text": {"value": "SELECT * FROM t ORDER BY x"}, "sources": {"dict": {"t": {"value": "legacy.csv"}}}}','{"return": {"hash": "d39ad44ae020da945b75ef52a45fcadc6619c5fd9c10387ab5afdfb9a99e6269", "materializer": "pandas-parquet", "type_name": "pandas.DataFrame", "size": 2823, "meta": {"rows": 30, "columns": ["x", "y", "label"]}}}',NULL,'2026-12-01 14:20:16.910221','2026-12-01 14:20:16.988779','2026-12-01 14:20:17.113756',1.08563995000622526276e-01,NULL,NULL,NULL,'/tmp/alambic-legacy-atkbjo9e/home/logs/run-20261201-142016-d5f6c7142a6a/sql.1-20f553.log');
INSERT INTO "step_runs" VALUES('step-20261201-142016-0872b01d8f3d','run-20261201-142016-d5f6c7142a6a','legacy','fit','','succeeded',1,'aac8116930ca2363d34977aa7cb33216921233ae64f01e477cfc5ca179f97c4b','{"hit": false, "reason": "miss: first run of this step", "components": {"code": "5827e1b7b35274fc65da4de7553be2215b875bed257b0cb4829b652c0b90fd6f", "args": {"table": {"a": "d39ad44ae020da945b75ef52a45fcadc6619c5fd9c10387ab5afdfb9a99e6269", "p": []}}}}','{"table": {"artifact": {"hash": "d39ad44ae020da945b75ef52a45fcadc6619c5fd9c10387ab5afdfb9a99e6269", "materializer": "pandas-parquet", "type_name": "pandas.DataFrame", "size": 2823, "meta": {"rows": 30, "columns": ["x", "y", "label"]}}}}','{"return": {"hash": "5040e61d3328ff4e7b3ab02ce317582109ff9419eb46cd853b406d332b47bff8", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 2777, "meta": {"flavor": "sklearn", "size_bytes": 2607}}}',NULL,'2026-12-01 14:20:16.910230','2026-12-01 14:20:17.116265','2026-12-01 14:20:17.563850',4.12715729999035829678e-02,NULL,NULL,NULL,'/tmp/alambic-legacy-atkbjo9e/home/logs/run-20261201-142016-d5f6c7142a6a/fit.1-3624c4.log');
INSERT INTO "step_runs" VALUES('step-20261201-142016-175907af1b78','run-20261201-142016-d5f6c7142a6a','legacy','register','','succeeded',1,'1e13e58cecc74fd0afaac0e6070d403f7c23c4e277046639f2861fc3e0ac4018','{"hit": false, "reason": "miss: first run of this step", "components": {"code": "5ea88af95ef3cb2fb73a656dd50068a78b1d10da7a584c30952e4c31406d8660", "args": {"model": {"a": "5040e61d3328ff4e7b3ab02ce317582109ff9419eb46cd853b406d332b47bff8", "p": []}, "name": {"v": "legacy-flow-model", "p": []}}}}','{"model": {"artifact": {"hash": "5040e61d3328ff4e7b3ab02ce317582109ff9419eb46cd853b406d332b47bff8", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 2777, "meta": {"flavor": "sklearn", "size_bytes": 2607}}}, "name": {"value": "legacy-flow-model"}}','{"return": {"hash": "0630b868d03640ae4b5b895d7565a673056ce388c3dfd604e26e7107bedef7f7", "materializer": "json", "type_name": "builtins.dict", "size": 108, "meta": {"kind": "dict"}}}',NULL,'2026-12-01 14:20:16.910243','2026-12-01 14:20:17.573165','2026-12-01 14:20:17.600953',2.31513590006215963512e-02,NULL,NULL,NULL,'/tmp/alambic-legacy-atkbjo9e/home/logs/run-20261201-142016-d5f6c7142a6a/register.1-a7d49c.log');
INSERT INTO "step_runs" VALUES('step-20261201-142017-45031148dabd','run-20261201-142017-fd64f1d22493','legacy','rows','','cached',0,'9019d29ea0c5e5adfd30723c029e115e826fa896c2538b7f9fa4e1b52a818d5f','{"hit": true, "reason": "hit: same code, parameters and inputs as rows in run-20261201-142016-d5f6c7142a6a", "components": {"code": "c8aebb9780219303d8dbfe7090b75074ebcb667dfc3697bdb736058a48774044", "args": {"n": {"v": 3, "p": []}}}}','{}','{"return": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}','step-20261201-142016-1c55165146da','2026-12-01 14:20:17.611762','2026-12-01 14:20:17.614193','2026-12-01 14:20:17.614193',0.0,NULL,NULL,NULL,NULL);
INSERT INTO "step_runs" VALUES('step-20261201-142017-2f1e85e7449c','run-20261201-142017-fd64f1d22493','legacy','total','','failed',1,'34eefd4f855887d74fb3d1135abec69266ebb69702790558dd8329a810f50a00','{"hit": false, "reason": "miss: since run-20261201-142016-d5f6c7142a6a, argument ''fail'' changed (False \u2192 True)", "components": {"code": "5c9ba09d132d2869436e99820aa199faa6eeff0fe02b356d2c7d89d8d2f513b7", "args": {"values": {"a": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "p": []}, "fail": {"v": true, "p": []}}}}','{"values": {"artifact": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}, "fail": {"value": true}}','{}',NULL,'2026-12-01 14:20:17.611782','2026-12-01 14:20:17.616862','2026-12-01 14:20:17.618906',9.85079996098647825419e-05,'ValueError: asked to fail','Traceback (most recent call last):
  File "/work/baseline/src/alambic/pipelines/_worker.py", line 342, in execute_task
    value = fn(**kwargs)
            ^^^^^^^^^^^^
  File "/work/baseline/tests/store/data/legacy_flows.py", line 30, in total
    raise ValueError("asked to fail")
ValueError: asked to fail
','feb7e9d2f018f705b12374af1d6edfb9c3c81a8576e88209a440d1f731af2002','/tmp/alambic-legacy-atkbjo9e/home/logs/run-20261201-142017-fd64f1d22493/total.1-e8ebbd.log');
INSERT INTO "step_runs" VALUES('step-20261201-142017-3ea83578b5dc','run-20261201-142017-fd64f1d22493','legacy','sql','','cached',0,'8625cbd2c70f6a559a4f34a0b828d02c072f468c14abb54572523bc2767419c6','{"hit": true, "reason": "hit: same code, parameters and inputs as sql in run-20261201-142016-d5f6c7142a6a", "components": {"code": "e05fff87e593bc06ac1c1a743b3ac6ae9201e4e92f6938c5738c62fff8a8912e", "args": {"text": {"v": "SELECT * FROM t ORDER BY x", "p": []}, "sources": {"t": {"v": "legacy.csv", "p": []}}}, "data": "e99d0fe9b1d11d7ad63c3f5b42cc4d0d152988586915be55cb9a6876b21d6bea"}}','{}','{"return": {"hash": "d39ad44ae020da945b75ef52a45fcadc6619c5fd9c10387ab5afdfb9a99e6269", "materializer": "pandas-parquet", "type_name": "pandas.DataFrame", "size": 2823, "meta": {"rows": 30, "columns": ["x", "y", "label"]}}}','step-20261201-142016-face682f50d3','2026-12-01 14:20:17.611793','2026-12-01 14:20:17.614221','2026-12-01 14:20:17.614221',0.0,NULL,NULL,NULL,NULL);
INSERT INTO "step_runs" VALUES('step-20261201-142017-1156d809029b','run-20261201-142017-fd64f1d22493','legacy','fit','','cached',0,'aac8116930ca2363d34977aa7cb33216921233ae64f01e477cfc5ca179f97c4b','{"hit": true, "reason": "hit: same code, parameters and inputs as fit in run-20261201-142016-d5f6c7142a6a", "components": {"code": "5827e1b7b35274fc65da4de7553be2215b875bed257b0cb4829b652c0b90fd6f", "args": {"table": {"a": "d39ad44ae020da945b75ef52a45fcadc6619c5fd9c10387ab5afdfb9a99e6269", "p": []}}}}','{}','{"return": {"hash": "5040e61d3328ff4e7b3ab02ce317582109ff9419eb46cd853b406d332b47bff8", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 2777, "meta": {"flavor": "sklearn", "size_bytes": 2607}}}','step-20261201-142016-0872b01d8f3d','2026-12-01 14:20:17.611802','2026-12-01 14:20:17.614811','2026-12-01 14:20:17.614811',0.0,NULL,NULL,NULL,NULL);
INSERT INTO "step_runs" VALUES('step-20261201-142017-825ba1f04ae1','run-20261201-142017-fd64f1d22493','legacy','register','','cached',0,'1e13e58cecc74fd0afaac0e6070d403f7c23c4e277046639f2861fc3e0ac4018','{"hit": true, "reason": "hit: same code, parameters and inputs as register in run-20261201-142016-d5f6c7142a6a", "components": {"code": "5ea88af95ef3cb2fb73a656dd50068a78b1d10da7a584c30952e4c31406d8660", "args": {"model": {"a": "5040e61d3328ff4e7b3ab02ce317582109ff9419eb46cd853b406d332b47bff8", "p": []}, "name": {"v": "legacy-flow-model", "p": []}}}}','{}','{"return": {"hash": "0630b868d03640ae4b5b895d7565a673056ce388c3dfd604e26e7107bedef7f7", "materializer": "json", "type_name": "builtins.dict", "size": 108, "meta": {"kind": "dict"}}}','step-20261201-142016-175907af1b78','2026-12-01 14:20:17.611810','2026-12-01 14:20:17.617629','2026-12-01 14:20:17.617629',0.0,NULL,NULL,NULL,NULL);
CREATE TABLE tracked_runs (
	id VARCHAR(64) NOT NULL, 
	experiment_id VARCHAR(64) NOT NULL, 
	parent_id VARCHAR(64), 
	kind VARCHAR(20) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	params JSON NOT NULL, 
	metrics JSON NOT NULL, 
	tags JSON NOT NULL, 
	artifacts JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	CONSTRAINT pk_tracked_runs PRIMARY KEY (id), 
	CONSTRAINT fk_tracked_runs_experiment_id_experiments FOREIGN KEY(experiment_id) REFERENCES experiments (id)
);
INSERT INTO "tracked_runs" VALUES('run-20261201-142016-d5f6c7142a6a','exp-20261201-142017-775b08b1a46b',NULL,'pipeline','legacy','finished','{"n": "3", "fail": "false"}','{}','{}','{}','2026-12-01 14:20:16.909789','2026-12-01 14:20:17.601050');
INSERT INTO "tracked_runs" VALUES('step-20261201-142016-1c55165146da','exp-20261201-142017-775b08b1a46b','run-20261201-142016-d5f6c7142a6a','step','rows','finished','{"n": "3"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 14:20:16.987496','2026-12-01 14:20:16.987967');
INSERT INTO "tracked_runs" VALUES('step-20261201-142016-face682f50d3','exp-20261201-142017-775b08b1a46b','run-20261201-142016-d5f6c7142a6a','step','sql','finished','{"text": "SELECT * FROM t ORDER BY x"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 14:20:16.989222','2026-12-01 14:20:17.113741');
INSERT INTO "tracked_runs" VALUES('step-20261201-142016-9fc251bea3d2','exp-20261201-142017-775b08b1a46b','run-20261201-142016-d5f6c7142a6a','step','total','finished','{"fail": "false"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 14:20:17.115799','2026-12-01 14:20:17.116187');
INSERT INTO "tracked_runs" VALUES('step-20261201-142016-0872b01d8f3d','exp-20261201-142017-775b08b1a46b','run-20261201-142016-d5f6c7142a6a','step','fit','finished','{}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 14:20:17.131529','2026-12-01 14:20:17.563834');
INSERT INTO "tracked_runs" VALUES('step-20261201-142016-175907af1b78','exp-20261201-142017-775b08b1a46b','run-20261201-142016-d5f6c7142a6a','step','register','finished','{"name": "legacy-flow-model"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 14:20:17.577388','2026-12-01 14:20:17.600942');
INSERT INTO "tracked_runs" VALUES('run-20261201-142017-fd64f1d22493','exp-20261201-142017-775b08b1a46b',NULL,'pipeline','legacy','failed','{"n": "3", "fail": "true"}','{}','{}','{}','2026-12-01 14:20:17.611471','2026-12-01 14:20:17.618990');
INSERT INTO "tracked_runs" VALUES('step-20261201-142017-2f1e85e7449c','exp-20261201-142017-775b08b1a46b','run-20261201-142017-fd64f1d22493','step','total','failed','{"fail": "true"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 14:20:17.618177','2026-12-01 14:20:17.618771');
INSERT INTO "tracked_runs" VALUES('trk-20261201-142017-af6e551ee3ff','exp-20261201-142017-775b08b1a46b',NULL,'manual','baseline','finished','{"depth": "3", "kind": "tree"}','{"loss": 0.25}','{"owner": "legacy"}','{}','2026-12-01 14:20:17.623306','2026-12-01 14:20:17.623361');
CREATE INDEX ix_pipelines_name ON pipelines (name);
CREATE INDEX ix_runs_pipeline_name ON runs (pipeline_name);
CREATE INDEX ix_runs_status ON runs (status);
CREATE INDEX ix_step_runs_run_id ON step_runs (run_id);
CREATE INDEX ix_step_runs_cache ON step_runs (cache_key, status);
CREATE INDEX ix_step_runs_history ON step_runs (pipeline_name, node, instance);
CREATE INDEX ix_tracked_runs_experiment_id ON tracked_runs (experiment_id);
CREATE INDEX ix_tracked_runs_parent_id ON tracked_runs (parent_id);
CREATE INDEX ix_metrics_run_key ON metrics (run_id, "key", step);
CREATE INDEX ix_model_versions_group ON model_versions ("group");
CREATE INDEX ix_audit_log_group_at ON audit_log ("group", at);
CREATE INDEX ix_registry_events_status ON registry_events (status);
CREATE INDEX ix_registry_events_type ON registry_events (type);
COMMIT;
