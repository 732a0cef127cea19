//! Benchmarks: both claims, `claim_pool` over pools from 10 to 100,000 members to show its cost
//! does not depend on the pool's size.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_system::RawOrigin;

/// An account with plenty of OPEN to credit from.
fn funded_payer<T: Config>() -> T::AccountId {
    let payer: T::AccountId = account("payer", 0, 0);
    let funds = T::Currency::minimum_balance().saturating_mul(1_000_000_000_000);
    T::Currency::set_balance(&payer, funds);
    payer
}

/// An existing account, so that any claim to it is accepted whatever its size.
fn claimant<T: Config>() -> T::AccountId {
    let who: T::AccountId = account("claimant", 0, 0);
    T::Currency::set_balance(&who, T::Currency::minimum_balance());
    who
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn claim() -> Result<(), BenchmarkError> {
        let payer = funded_payer::<T>();
        let who = claimant::<T>();
        let amount = T::Currency::minimum_balance().saturating_mul(10);
        for source in [
            RewardSource::Data,
            RewardSource::Model,
            RewardSource::Compute,
        ] {
            Pallet::<T>::credit_account(&payer, &who, source, amount)?;
        }

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));

        assert!(Pending::<T>::get(&who).is_none());
        Ok(())
    }

    #[benchmark]
    fn claim_pool(m: Linear<10, 100_000>) -> Result<(), BenchmarkError> {
        let payer = funded_payer::<T>();
        let who = claimant::<T>();
        let pool = PoolId {
            datanet: 0,
            version: 1,
        };
        T::BenchmarkHelper::create_pool(pool, m, &who);
        // Enough that the claimant's share of one point is at least one existential deposit.
        let amount = T::Currency::minimum_balance().saturating_mul(u128::from(m));
        Pallet::<T>::credit_pool(&payer, pool, amount)?;

        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), pool);

        assert!(PoolClaims::<T>::get(pool, &who) > 0);
        Ok(())
    }

    impl_benchmark_test_suite!(
        Pallet,
        crate::mock::ExtBuilder::default().build(),
        crate::mock::Test
    );
}
