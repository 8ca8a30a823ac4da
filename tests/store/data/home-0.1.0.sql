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
INSERT INTO "api_tokens" VALUES('9bea0cfa93ff','site','b7f6df2c8c3c00b24307a12cd08168f645b3056d9cf5c9603f9643d6366a1a5b','invoke','["legacy"]','2026-12-01 12:22:45.504431','legacy-maker',NULL,NULL);
INSERT INTO "api_tokens" VALUES('4fb853ffdf8c','ops','b3129705f333ad201f950a3f13f2172d0c749073ac831dfcd191f2c4a09ab023','admin','[]','2026-12-01 12:22:45.505970','legacy-maker','2026-12-01 12:22:45.508746','legacy-maker');
CREATE TABLE artifacts (
	hash VARCHAR(64) NOT NULL, 
	materializer VARCHAR(100) NOT NULL, 
	type_name VARCHAR(300) NOT NULL, 
	size BIGINT NOT NULL, 
	meta JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_artifacts PRIMARY KEY (hash)
);
INSERT INTO "artifacts" VALUES('1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553','json','builtins.list',9,'{"kind": "list"}','2026-12-01 12:22:44.957054');
INSERT INTO "artifacts" VALUES('4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce','json','builtins.int',1,'{"kind": "int", "value": 3}','2026-12-01 12:22:45.032757');
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
INSERT INTO "audit_log" VALUES(1,'2026-12-01 12:22:45.435039','legacy-maker','create-group','legacy-model',NULL,NULL,'null','{"policy": {}}','');
INSERT INTO "audit_log" VALUES(2,'2026-12-01 12:22:45.437105','legacy-maker','register','legacy-model',1,NULL,'null','{"status": "PendingManualApproval", "model": "98228e22c854d415e6358c327407a8a94bf9f5abb0292b288771895adee6036f"}','');
INSERT INTO "audit_log" VALUES(3,'2026-12-01 12:22:45.447164','legacy-maker','register','legacy-model',2,NULL,'null','{"status": "PendingManualApproval", "model": "ee2112cfecc354a7bdce48ffc6e36e37e7d3697c7854e4d1a7f53ee7be27897e"}','');
INSERT INTO "audit_log" VALUES(4,'2026-12-01 12:22:45.454640','legacy-maker','register','legacy-model',3,NULL,'null','{"status": "PendingManualApproval", "model": "372e9b1df46a4c7f212be53125e64e90695871272149de6e00762cc5286a538b"}','');
INSERT INTO "audit_log" VALUES(5,'2026-12-01 12:22:45.462301','legacy-maker','register','legacy-model',4,NULL,'null','{"status": "PendingManualApproval", "model": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef"}','');
INSERT INTO "audit_log" VALUES(6,'2026-12-01 12:22:45.464258','legacy-maker','approve','legacy-model',1,NULL,'{"status": "PendingManualApproval", "deleted": false}','{"status": "Approved", "deleted": false}','first look');
INSERT INTO "audit_log" VALUES(7,'2026-12-01 12:22:45.466909','legacy-maker','approve','legacy-model',2,NULL,'{"status": "PendingManualApproval", "deleted": false}','{"status": "Approved", "deleted": false}','better');
INSERT INTO "audit_log" VALUES(8,'2026-12-01 12:22:45.468639','legacy-maker','reject','legacy-model',3,NULL,'{"status": "PendingManualApproval", "deleted": false}','{"status": "Rejected", "deleted": false}','overfits');
INSERT INTO "audit_log" VALUES(9,'2026-12-01 12:22:45.471171','legacy-maker','move-alias','legacy-model',1,'staging','{"version": null}','{"version": 1}','');
INSERT INTO "audit_log" VALUES(10,'2026-12-01 12:22:45.473095','legacy-maker','move-alias','legacy-model',2,'staging','{"version": 1}','{"version": 2}','');
INSERT INTO "audit_log" VALUES(11,'2026-12-01 12:22:45.475014','legacy-maker','move-alias','legacy-model',2,'production','{"version": null}','{"version": 2}','go');
INSERT INTO "audit_log" VALUES(12,'2026-12-01 12:22:45.476223','legacy-maker','create-group','legacy-hooked',NULL,NULL,'null','{"policy": {}}','');
INSERT INTO "audit_log" VALUES(13,'2026-12-01 12:22:45.476252','legacy-maker','set-policy','legacy-hooked',NULL,NULL,'{"policy": {}}','{"policy": {"approval": "manual", "auto_approve": {}, "require_staging": false, "stage_on_approval": false, "webhooks": [{"url": "http://127.0.0.1:9/unreachable"}], "allow_pickle": false}}','');
INSERT INTO "audit_log" VALUES(14,'2026-12-01 12:22:45.480896','legacy-maker','register','legacy-hooked',1,NULL,'null','{"status": "PendingManualApproval", "model": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef"}','');
INSERT INTO "audit_log" VALUES(15,'2026-12-01 12:22:45.496874','legacy-maker','create-endpoint','endpoint:legacy',NULL,NULL,'null','{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','');
INSERT INTO "audit_log" VALUES(16,'2026-12-01 12:22:45.500377','legacy-maker','update-endpoint','endpoint:legacy',NULL,NULL,'{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.1, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','holdout for the study');
INSERT INTO "audit_log" VALUES(17,'2026-12-01 12:22:45.502798','legacy-maker','create-endpoint','endpoint:legacy-gone',NULL,NULL,'null','{"variants": [{"name": "legacy-model/1", "model": "legacy-model/1", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": true, "capture": 1.0, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','');
INSERT INTO "audit_log" VALUES(18,'2026-12-01 12:22:45.503540','legacy-maker','delete-endpoint','endpoint:legacy-gone',NULL,NULL,'{"variants": [{"name": "legacy-model/1", "model": "legacy-model/1", "weight": 1.0}], "shadows": [], "holdout": 0.0, "public": true, "capture": 1.0, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}','null','');
INSERT INTO "audit_log" VALUES(19,'2026-12-01 12:22:45.505382','legacy-maker','create-token','token:9bea0cfa93ff',NULL,NULL,'null','{"name": "site", "scope": "invoke", "endpoints": ["legacy"]}','');
INSERT INTO "audit_log" VALUES(20,'2026-12-01 12:22:45.506237','legacy-maker','create-token','token:4fb853ffdf8c',NULL,NULL,'null','{"name": "ops", "scope": "admin", "endpoints": []}','');
INSERT INTO "audit_log" VALUES(21,'2026-12-01 12:22:45.508758','legacy-maker','revoke-token','token:4fb853ffdf8c',NULL,NULL,'null','null','');
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
INSERT INTO "endpoints" VALUES('legacy','{"variants": [{"name": "legacy-model@production", "model": "legacy-model@production", "weight": 1.0}], "shadows": [], "holdout": 0.1, "public": false, "capture": 0.5, "key_header": "x-caller-id", "max_body_bytes": 10485760, "description": ""}',2,'2026-12-01 12:22:45.495884','legacy-maker','2026-12-01 12:22:45.500372','legacy-maker');
CREATE TABLE experiments (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	tags JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_experiments PRIMARY KEY (id), 
	CONSTRAINT uq_experiments_name UNIQUE (name)
);
INSERT INTO "experiments" VALUES('exp-20261201-122245-9803df2e6216','legacy','{}','2026-12-01 12:22:45.037410');
CREATE TABLE metrics (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	"key" VARCHAR(250) NOT NULL, 
	value FLOAT NOT NULL, 
	step BIGINT NOT NULL, 
	timestamp FLOAT NOT NULL, 
	CONSTRAINT pk_metrics PRIMARY KEY (id)
);
INSERT INTO "metrics" VALUES(1,'trk-20261201-122245-88ad015fe345','loss',1.0,0,1.79612776505456852912e+09);
INSERT INTO "metrics" VALUES(2,'trk-20261201-122245-88ad015fe345','loss',0.5,1,1.79612776505457687374e+09);
INSERT INTO "metrics" VALUES(3,'trk-20261201-122245-88ad015fe345','loss',3.33333333333333314829e-01,2,1.79612776505457973474e+09);
INSERT INTO "metrics" VALUES(4,'trk-20261201-122245-88ad015fe345','loss',0.25,3,1.79612776505458259586e+09);
CREATE TABLE model_aliases (
	"group" VARCHAR(100) NOT NULL, 
	alias VARCHAR(100) NOT NULL, 
	version INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	updated_by VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_model_aliases PRIMARY KEY ("group", alias), 
	CONSTRAINT fk_model_aliases_group_model_groups FOREIGN KEY("group") REFERENCES model_groups (name)
);
INSERT INTO "model_aliases" VALUES('legacy-model','staging',2,'2026-12-01 12:22:45.473086','legacy-maker');
INSERT INTO "model_aliases" VALUES('legacy-model','production',2,'2026-12-01 12:22:45.474979','legacy-maker');
CREATE TABLE model_groups (
	name VARCHAR(100) NOT NULL, 
	description TEXT NOT NULL, 
	policy JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_model_groups PRIMARY KEY (name)
);
INSERT INTO "model_groups" VALUES('legacy-model','','{}','2026-12-01 12:22:45.434130','legacy-maker');
INSERT INTO "model_groups" VALUES('legacy-hooked','','{"approval": "manual", "auto_approve": {}, "require_staging": false, "stage_on_approval": false, "webhooks": [{"url": "http://127.0.0.1:9/unreachable"}], "allow_pickle": false}','2026-12-01 12:22:45.476025','legacy-maker');
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
INSERT INTO "model_versions" VALUES('mv-20261201-122245-4416f17b5cce','legacy-model',1,'{"hash": "98228e22c854d415e6358c327407a8a94bf9f5abb0292b288771895adee6036f", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1759, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.805}','null','{}','','{"code": {"commit": "904cb6dc00446b0edbdca10eea8207ca16c68f29", "tag": null, "branch": "(detached)", "dirty": false}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','Approved','first look','legacy-maker','2026-12-01 12:22:45.464246','2026-12-01 12:22:45.437005','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-122245-affda5894890','legacy-model',2,'{"hash": "ee2112cfecc354a7bdce48ffc6e36e37e7d3697c7854e4d1a7f53ee7be27897e", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1761, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.81}','null','{}','','{"code": {"commit": "904cb6dc00446b0edbdca10eea8207ca16c68f29", "tag": null, "branch": "(detached)", "dirty": false}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','Approved','better','legacy-maker','2026-12-01 12:22:45.466896','2026-12-01 12:22:45.447083','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-122245-8f176786c3d6','legacy-model',3,'{"hash": "372e9b1df46a4c7f212be53125e64e90695871272149de6e00762cc5286a538b", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1759, "meta": {"flavor": "sklearn", "size_bytes": 1539}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.8200000000000001}','null','{}','','{"code": {"commit": "904cb6dc00446b0edbdca10eea8207ca16c68f29", "tag": null, "branch": "(detached)", "dirty": false}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1539, "flavor": "sklearn"}','Rejected','overfits','legacy-maker','2026-12-01 12:22:45.468627','2026-12-01 12:22:45.454570','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-122245-634b3116c3c2','legacy-model',4,'{"hash": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1760, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{"roc_auc": 0.8400000000000001}','null','{}','','{"code": {"commit": "904cb6dc00446b0edbdca10eea8207ca16c68f29", "tag": null, "branch": "(detached)", "dirty": false}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','PendingManualApproval','','legacy-maker','2026-12-01 12:22:45.462235','2026-12-01 12:22:45.462235','legacy-maker',NULL);
INSERT INTO "model_versions" VALUES('mv-20261201-122245-df199a850a9e','legacy-hooked',1,'{"hash": "d8677bf3dc7cd0beadd3799396ae252792924d94894542f03ad81f3dbe0369ef", "materializer": "alambic-model", "type_name": "alambic.models._model.Model", "size": 1760, "meta": {"flavor": "sklearn", "size_bytes": 1540}}','{"inputs": [["price", "float64"], ["age", "int64"]], "task": "binary", "classes": [0, 1], "output": "int64", "categories": {}, "nullable": []}','{}','null','{}','','{"code": {"commit": "904cb6dc00446b0edbdca10eea8207ca16c68f29", "tag": null, "branch": "(detached)", "dirty": false}, "packages": {"python": "3.11.7", "alambic": "0.1.0", "scikit-learn": "1.9.1", "lightgbm": "4.7.0", "pandas": "3.1.1", "numpy": "2.4.6", "optuna": "5.0.0", "skops": "0.16.0"}, "size_bytes": 1540, "flavor": "sklearn"}','PendingManualApproval','','legacy-maker','2026-12-01 12:22:45.480831','2026-12-01 12:22:45.480831','legacy-maker',NULL);
CREATE TABLE pipelines (
	hash VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	definition JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_pipelines PRIMARY KEY (hash)
);
INSERT INTO "pipelines" VALUES('11b3fefa86dc40bc90dcc16cf8793d7f69d1560a00e45ad8d64dd8ce22a717cb','legacy','{"name": "legacy", "params": {"n": {"type": "int", "required": false, "default": 3}, "fail": {"type": "bool", "required": false, "default": false}}, "nodes": {"rows": {"id": "rows", "step": "rows", "code": {"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "rows"}, "code_hash": "c8aebb9780219303d8dbfe7090b75074ebcb667dfc3697bdb736058a48774044", "args": {"n": {"param": "n"}}, "scopes": [], "guards": [], "outputs": ["return"], "fingerprint": false, "retries": 0, "retry_delay": 1.0, "backoff": 2.0, "timeout": null, "cache": true, "allow_pickle": false}, "total": {"id": "total", "step": "total", "code": {"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "total"}, "code_hash": "5c9ba09d132d2869436e99820aa199faa6eeff0fe02b356d2c7d89d8d2f513b7", "args": {"values": {"output": "rows", "name": "return"}, "fail": {"param": "fail"}}, "scopes": [], "guards": [], "outputs": ["return"], "fingerprint": false, "retries": 0, "retry_delay": 1.0, "backoff": 2.0, "timeout": null, "cache": true, "allow_pickle": false}}, "maps": {}, "conditions": {}, "outputs": null, "code": {"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "legacy"}}','2026-12-01 12:22:44.932431');
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
INSERT INTO "registry_events" VALUES('evt-20261201-122245-0a8f811d1af7','version_registered','legacy-model',1,'{"type": "version_registered", "group": "legacy-model", "version": 1, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 12:22:45.437137','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-d74f898d3ca6','version_registered','legacy-model',2,'{"type": "version_registered", "group": "legacy-model", "version": 2, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 12:22:45.447198','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-a13f424ae862','version_registered','legacy-model',3,'{"type": "version_registered", "group": "legacy-model", "version": 3, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 12:22:45.454670','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-b9745f165ccd','version_registered','legacy-model',4,'{"type": "version_registered", "group": "legacy-model", "version": 4, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 12:22:45.462332','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-a935f1faee6b','version_approved','legacy-model',1,'{"type": "version_approved", "group": "legacy-model", "version": 1, "actor": "legacy-maker", "comment": "first look"}','2026-12-01 12:22:45.464309','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-7a97eca6f52c','version_approved','legacy-model',2,'{"type": "version_approved", "group": "legacy-model", "version": 2, "actor": "legacy-maker", "comment": "better"}','2026-12-01 12:22:45.466959','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-1edce642edbd','version_rejected','legacy-model',3,'{"type": "version_rejected", "group": "legacy-model", "version": 3, "actor": "legacy-maker", "comment": "overfits"}','2026-12-01 12:22:45.468686','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-0f555a7a0d03','alias_moved','legacy-model',1,'{"type": "alias_moved", "group": "legacy-model", "version": 1, "alias": "staging", "previous": null, "actor": "legacy-maker"}','2026-12-01 12:22:45.471214','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-e69402c19f8d','alias_moved','legacy-model',2,'{"type": "alias_moved", "group": "legacy-model", "version": 2, "alias": "staging", "previous": 1, "actor": "legacy-maker"}','2026-12-01 12:22:45.473142','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-56187287f257','alias_moved','legacy-model',2,'{"type": "alias_moved", "group": "legacy-model", "version": 2, "alias": "production", "previous": null, "actor": "legacy-maker"}','2026-12-01 12:22:45.475051','recorded',0,'[]',NULL);
INSERT INTO "registry_events" VALUES('evt-20261201-122245-7c911a985b81','version_registered','legacy-hooked',1,'{"type": "version_registered", "group": "legacy-hooked", "version": 1, "status": "PendingManualApproval", "actor": "legacy-maker"}','2026-12-01 12:22:45.480925','pending',1,'[{"at": "2026-12-01T12:22:45.485170+00:00", "results": {"http://127.0.0.1:9/unreachable": "URLError: <urlopen error [Errno 111] Connection refused>"}}]','2026-12-01 12:22:47.485181');
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
INSERT INTO "runs" VALUES('run-20261201-122244-c84ba241a395','legacy','11b3fefa86dc40bc90dcc16cf8793d7f69d1560a00e45ad8d64dd8ce22a717cb','{"n": 3, "fail": false}','null','{"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "legacy"}','{"cache": true, "executor": null, "max_workers": null}','succeeded','2026-12-01 12:22:44.940815','2026-12-01 12:22:44.946850','2026-12-01 12:22:45.039258',NULL,'vm:9254','2026-12-01 12:22:44.942446',0);
INSERT INTO "runs" VALUES('run-20261201-122245-c895081b3ef0','legacy','11b3fefa86dc40bc90dcc16cf8793d7f69d1560a00e45ad8d64dd8ce22a717cb','{"n": 3, "fail": true}','null','{"module": "legacy_flows", "file": "/work/baseline/tests/store/data/legacy_flows.py", "qualname": "legacy"}','{"cache": true, "executor": null, "max_workers": null}','failed','2026-12-01 12:22:45.042743','2026-12-01 12:22:45.044565','2026-12-01 12:22:45.053528','1 step(s) failed: total','vm:9254','2026-12-01 12:22:45.043338',0);
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
INSERT INTO "step_runs" VALUES('step-20261201-122244-31734144566c','run-20261201-122244-c84ba241a395','legacy','rows','','succeeded',1,'9019d29ea0c5e5adfd30723c029e115e826fa896c2538b7f9fa4e1b52a818d5f','{"hit": false, "reason": "miss: first run of this step", "components": {"code": "c8aebb9780219303d8dbfe7090b75074ebcb667dfc3697bdb736058a48774044", "args": {"n": {"v": 3, "p": []}}}}','{"n": {"value": 3}}','{"return": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}',NULL,'2026-12-01 12:22:44.948480','2026-12-01 12:22:44.954097','2026-12-01 12:22:44.957059',1.02376999961961701046e-04,NULL,NULL,NULL,'/tmp/alambic-legacy-vvw7fp5n/home/logs/run-20261201-122244-c84ba241a395/rows.1-e77745.log');
INSERT INTO "step_runs" VALUES('step-20261201-122244-19d11527a6e2','run-20261201-122244-c84ba241a395','legacy','total','','succeeded',1,'188de21e2f0f09d57345224d90c64a5ba6bcc1cf6f4fe24856f79bb3dea8fd3a','{"hit": false, "reason": "miss: first run of this step", "components": {"code": "5c9ba09d132d2869436e99820aa199faa6eeff0fe02b356d2c7d89d8d2f513b7", "args": {"values": {"a": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "p": []}, "fail": {"v": false, "p": []}}}}','{"values": {"artifact": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}, "fail": {"value": false}}','{"return": {"hash": "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce", "materializer": "json", "type_name": "builtins.int", "size": 1, "meta": {"kind": "int", "value": 3}}}',NULL,'2026-12-01 12:22:44.948506','2026-12-01 12:22:45.031371','2026-12-01 12:22:45.032762',1.36327000063829473219e-04,NULL,NULL,NULL,'/tmp/alambic-legacy-vvw7fp5n/home/logs/run-20261201-122244-c84ba241a395/total.1-09e39a.log');
INSERT INTO "step_runs" VALUES('step-20261201-122245-7ab1a47fcfcd','run-20261201-122245-c895081b3ef0','legacy','rows','','cached',0,'9019d29ea0c5e5adfd30723c029e115e826fa896c2538b7f9fa4e1b52a818d5f','{"hit": true, "reason": "hit: same code, parameters and inputs as rows in run-20261201-122244-c84ba241a395", "components": {"code": "c8aebb9780219303d8dbfe7090b75074ebcb667dfc3697bdb736058a48774044", "args": {"n": {"v": 3, "p": []}}}}','{}','{"return": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}','step-20261201-122244-31734144566c','2026-12-01 12:22:45.045401','2026-12-01 12:22:45.047117','2026-12-01 12:22:45.047117',0.0,NULL,NULL,NULL,NULL);
INSERT INTO "step_runs" VALUES('step-20261201-122245-647f8525d5b6','run-20261201-122245-c895081b3ef0','legacy','total','','failed',1,'34eefd4f855887d74fb3d1135abec69266ebb69702790558dd8329a810f50a00','{"hit": false, "reason": "miss: since run-20261201-122244-c84ba241a395, argument ''fail'' changed (False \u2192 True)", "components": {"code": "5c9ba09d132d2869436e99820aa199faa6eeff0fe02b356d2c7d89d8d2f513b7", "args": {"values": {"a": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "p": []}, "fail": {"v": true, "p": []}}}}','{"values": {"artifact": {"hash": "1d226b8db3e15d55d17d319ef9bc45dff4bb345f3713141d458ee3519271f553", "materializer": "json", "type_name": "builtins.list", "size": 9, "meta": {"kind": "list"}}}, "fail": {"value": true}}','{}',NULL,'2026-12-01 12:22:45.045422','2026-12-01 12:22:45.049219','2026-12-01 12:22:45.050568',1.03212999988500087056e-04,'ValueError: asked to fail','Traceback (most recent call last):
  File "/work/baseline/src/alambic/pipelines/_worker.py", line 342, in execute_task
    value = fn(**kwargs)
            ^^^^^^^^^^^^
  File "/work/baseline/tests/store/data/legacy_flows.py", line 16, in total
    raise ValueError("asked to fail")
ValueError: asked to fail
','683e2db924354c466bedd239bb70a9f3845684b599b5a2d8f39d4670c1dfc41b','/tmp/alambic-legacy-vvw7fp5n/home/logs/run-20261201-122245-c895081b3ef0/total.1-ff0329.log');
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
INSERT INTO "tracked_runs" VALUES('run-20261201-122244-c84ba241a395','exp-20261201-122245-9803df2e6216',NULL,'pipeline','legacy','finished','{"n": "3", "fail": "false"}','{}','{}','{}','2026-12-01 12:22:44.948043','2026-12-01 12:22:45.032857');
INSERT INTO "tracked_runs" VALUES('step-20261201-122244-31734144566c','exp-20261201-122245-9803df2e6216','run-20261201-122244-c84ba241a395','step','rows','finished','{"n": "3"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 12:22:44.956582','2026-12-01 12:22:44.957048');
INSERT INTO "tracked_runs" VALUES('step-20261201-122244-19d11527a6e2','exp-20261201-122245-9803df2e6216','run-20261201-122244-c84ba241a395','step','total','finished','{"fail": "false"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 12:22:45.032235','2026-12-01 12:22:45.032751');
INSERT INTO "tracked_runs" VALUES('run-20261201-122245-c895081b3ef0','exp-20261201-122245-9803df2e6216',NULL,'pipeline','legacy','failed','{"n": "3", "fail": "true"}','{}','{}','{}','2026-12-01 12:22:45.045054','2026-12-01 12:22:45.050657');
INSERT INTO "tracked_runs" VALUES('step-20261201-122245-647f8525d5b6','exp-20261201-122245-9803df2e6216','run-20261201-122245-c895081b3ef0','step','total','failed','{"fail": "true"}','{}','{"alambic.attempt": "1"}','{}','2026-12-01 12:22:45.049893','2026-12-01 12:22:45.050437');
INSERT INTO "tracked_runs" VALUES('trk-20261201-122245-88ad015fe345','exp-20261201-122245-9803df2e6216',NULL,'manual','baseline','finished','{"depth": "3", "kind": "tree"}','{"loss": 0.25}','{"owner": "legacy"}','{}','2026-12-01 12:22:45.054543','2026-12-01 12:22:45.054595');
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
CREATE INDEX ix_registry_events_type ON registry_events (type);
CREATE INDEX ix_registry_events_status ON registry_events (status);
COMMIT;
