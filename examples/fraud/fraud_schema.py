"""The columns the fraud models read (standard library only: the benchmarks import it too)."""

FEATURES = [
    "brand",
    "year",
    "mileage",
    "price",
    "market_price",
    "price_gap",
    "seller_account_age_days",
    "n_photos",
    "description_length",
    "phone_accounts",
    "posted_hour",
]
TARGET = "is_fraud"
