//! OPEN amounts in JSON as decimal strings of planck: 18 decimals overflow the 53-bit integers of
//! JavaScript numbers, so a dApp parses them with a big-integer type instead.

use attribution_primitives::{rewards::PendingRewards, Balance};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer>(amount: &Balance, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(amount)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Balance, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// [`PendingRewards`] with each source's amount as a decimal string.
pub mod by_source {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Decimal {
        #[serde(with = "super")]
        data: Balance,
        #[serde(with = "super")]
        model: Balance,
        #[serde(with = "super")]
        compute: Balance,
    }

    pub fn serialize<S: Serializer>(
        rewards: &PendingRewards<Balance>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        Decimal {
            data: rewards.data,
            model: rewards.model,
            compute: rewards.compute,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<PendingRewards<Balance>, D::Error> {
        let Decimal {
            data,
            model,
            compute,
        } = Decimal::deserialize(deserializer)?;
        Ok(PendingRewards {
            data,
            model,
            compute,
        })
    }
}
