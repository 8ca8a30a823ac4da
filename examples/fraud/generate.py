"""A seeded, realistic car-listings fraud data set (no download: generated here).

Listings of three categories — auto, moto, loisir (camper vans, caravans) — with the
signals a fraud team looks at: price against the category's market price, mileage,
year, brand, the seller account's age, photos, description length, a phone number
shared across accounts, the hour it was posted. A few percent are fraud, and the
patterns differ by category:

- auto: a price far below the market from a young account, often with a shared phone;
- moto: few photos, a short copy-pasted description, a brand-new account;
- loisir: a high-end vehicle at a bargain, posted at night, from a shared phone.

    python examples/fraud/generate.py --rows 200000   # → examples/fraud/data/listings.parquet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

LISTINGS = Path(__file__).resolve().parent / "data" / "listings.parquet"
CATEGORIES = {
    # share, fraud rate, brands, base price, yearly depreciation, km per year
    "auto": (
        0.60,
        0.030,
        ["renault", "peugeot", "citroen", "volkswagen", "toyota", "bmw"],
        24_000,
        0.12,
        13_000,
    ),
    "moto": (
        0.25,
        0.040,
        ["yamaha", "honda", "kawasaki", "ducati", "bmw", "ktm"],
        9_000,
        0.10,
        5_000,
    ),
    "loisir": (
        0.15,
        0.020,
        ["fiat", "hymer", "burstner", "adria", "pilote", "rapido"],
        55_000,
        0.07,
        8_000,
    ),
}
BRAND_PREMIUM = {"bmw": 1.35, "ducati": 1.4, "hymer": 1.3, "toyota": 1.1, "ktm": 1.15}


def generate(rows: int = 200_000, *, random_state: int = 42, start_id: int = 0) -> pd.DataFrame:
    """Return ``rows`` listings; the same seed always gives the same data."""
    rng = np.random.default_rng(random_state)
    names = list(CATEGORIES)
    shares = np.array([CATEGORIES[c][0] for c in names])
    category = rng.choice(names, size=rows, p=shares / shares.sum())
    frames = []
    for name in names:
        n = int((category == name).sum())
        _, fraud_rate, brands, base, depreciation, km_year = CATEGORIES[name]
        age = rng.integers(0, 20, n)
        brand = rng.choice(brands, n)
        premium = np.array([BRAND_PREMIUM.get(b, 1.0) for b in brand])
        mileage = np.maximum(0, rng.normal(km_year * age, km_year * 0.4 * np.sqrt(age + 1)))
        market = base * premium * (1 - depreciation) ** age * np.exp(-mileage / 400_000)
        price = market * rng.lognormal(0, 0.12, n)
        account_age = rng.gamma(2.0, 400, n)
        photos = rng.poisson(9, n)
        description = rng.lognormal(6.0, 0.5, n)
        phone_accounts = 1 + rng.poisson(0.05, n)
        hour = rng.integers(7, 24, n)
        # Honest sellers too can look suspicious: new accounts, night posts, few photos.
        new_account = rng.random(n) < 0.15
        account_age[new_account] = rng.gamma(1.5, 20, int(new_account.sum()))
        night = rng.random(n) < 0.08
        hour[night] = rng.choice([0, 1, 2, 3, 4, 5, 23], int(night.sum()))
        lazy = rng.random(n) < 0.2
        photos[lazy] = rng.poisson(3, int(lazy.sum()))
        description[lazy] = rng.lognormal(5.0, 0.6, int(lazy.sum()))
        bargain = rng.random(n) < 0.05
        price[bargain] *= rng.uniform(0.6, 0.9, int(bargain.sum()))
        # Fraud: each category has its own signals, each present only in part of the cases.
        fraud = rng.random(n) < fraud_rate

        def some(share: float, fraud: np.ndarray = fraud) -> np.ndarray:
            return fraud & (rng.random(len(fraud)) < share)

        young = some(0.7)
        account_age[young] = rng.gamma(1.5, 15, int(young.sum()))
        if name == "auto":
            cheap = some(0.75)
            price[cheap] = market[cheap] * rng.uniform(0.5, 0.9, int(cheap.sum()))
            shared = some(0.5)
            phone_accounts[shared] += rng.poisson(1.5, int(shared.sum())) + 1
        elif name == "moto":
            bare = some(0.7)
            photos[bare] = rng.poisson(2, int(bare.sum()))
            short = some(0.6)
            description[short] = rng.lognormal(4.6, 0.5, int(short.sum()))
        else:
            posh = some(0.6)
            brand[posh] = rng.choice(["hymer", "burstner"], int(posh.sum()))
            price[posh] = market[posh] * 1.3 * rng.uniform(0.5, 0.85, int(posh.sum()))
            late = some(0.55)
            hour[late] = rng.choice([0, 1, 2, 3, 4, 23], int(late.sum()))
            shared = some(0.4)
            phone_accounts[shared] += rng.poisson(2.0, int(shared.sum())) + 1
        frames.append(
            pd.DataFrame(
                {
                    "category": name,
                    "brand": brand,
                    "year": 2026 - age,
                    "mileage": mileage.round(0),
                    "price": price.round(0),
                    "market_price": market.round(0),
                    "seller_account_age_days": account_age.round(1),
                    "n_photos": photos,
                    "description_length": description.round(0).astype(int),
                    "phone_accounts": phone_accounts,
                    "posted_hour": hour,
                    "is_fraud": fraud.astype(int),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    data = data.sample(frac=1.0, random_state=random_state).reset_index(drop=True)
    data.insert(0, "listing_id", np.arange(start_id, start_id + len(data)))
    data["price_gap"] = ((data["price"] - data["market_price"]) / data["market_price"]).round(4)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=LISTINGS)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = generate(args.rows, random_state=args.seed)
    data.to_parquet(args.out, index=False)
    rates = data.groupby("category")["is_fraud"].mean().round(4).to_dict()
    print(f"wrote {len(data)} listings to {args.out}; fraud rate by category: {rates}")


if __name__ == "__main__":
    main()
