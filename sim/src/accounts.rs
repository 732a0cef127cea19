//! The accounts the fuzzer and the simulation act from: the dev accounts the `development`
//! preset endows (Alice, who is also sudo, first), and accounts nobody funded. Each has an
//! sr25519 worker key of its own, for when it registers as an operator.

use attribution_primitives::AccountId;
use codec::Encode;
use sp_core::{sr25519, Pair};
use sp_keyring::Sr25519Keyring;
use std::collections::HashMap;

/// One account: its key and the worker key it registers with.
pub struct Actor {
    pub pair: sr25519::Pair,
    pub worker: sr25519::Pair,
    pub id: AccountId,
    /// Endowed at genesis.
    pub funded: bool,
}

/// Every account and every worker key the run may sign with.
pub struct Accounts {
    pub actors: Vec<Actor>,
    /// Pairs of every worker key handed out, including rotated ones, by public key.
    keys: HashMap<sr25519::Public, sr25519::Pair>,
}

/// A key derived from a label and an index: the same run after run.
pub fn derived(label: &[u8], index: u64) -> sr25519::Pair {
    sr25519::Pair::from_seed(&sp_io::hashing::blake2_256(&(label, index).encode()))
}

impl Accounts {
    /// The dev accounts endowed by the `development` preset (Alice first), then `unfunded`
    /// accounts with no balance.
    pub fn new(unfunded: u64) -> Self {
        let funded = Sr25519Keyring::iter()
            .filter(|k| !matches!(k, Sr25519Keyring::One | Sr25519Keyring::Two))
            .map(|k| (k.pair(), true));
        let empty = (0..unfunded).map(|i| (derived(b"unfunded", i), false));
        let mut keys = HashMap::new();
        let actors = funded
            .chain(empty)
            .enumerate()
            .map(|(i, (pair, funded))| {
                let worker = derived(b"worker", i as u64);
                keys.insert(worker.public(), worker.clone());
                Actor {
                    id: AccountId::from(pair.public()),
                    pair,
                    worker,
                    funded,
                }
            })
            .collect();
        Self { actors, keys }
    }

    /// The sudo key of the `development` preset.
    pub fn sudo(&self) -> &Actor {
        &self.actors[0]
    }

    /// The actor of `who`, if it is one of ours.
    pub fn index_of(&self, who: &AccountId) -> Option<usize> {
        self.actors.iter().position(|actor| actor.id == *who)
    }

    /// A new worker key, remembered so it can sign later.
    pub fn new_worker_key(&mut self, seed: u64) -> sr25519::Public {
        let pair = derived(b"rotated", seed);
        let public = pair.public();
        self.keys.insert(public, pair);
        public
    }

    /// The pair of a worker key we handed out.
    pub fn worker_pair(&self, public: &sr25519::Public) -> Option<&sr25519::Pair> {
        self.keys.get(public)
    }
}
