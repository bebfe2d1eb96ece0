//! What the use cases stand on, apart from them: tenant scoping, keyset
//! pages, batched writes, locks (and every lock key), claims with leases,
//! rate budgets shared by the deployment, positional decoding.

pub mod batch;
pub mod claims;
pub mod locks;
pub mod page;
pub mod positional;
pub mod rate_budget;
pub mod tenant;
