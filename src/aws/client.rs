//! A connection to EC2: a client behind [`Ec2Api`], with its region and where that came from.
//!
//! The client on the AWS SDK is in its own crate (obsboot-ec2, `sdk.rs`), which the binary
//! links; it reaches the library as a [`Connect`] function in [`super::Settings`].

use std::future::Future;
use std::pin::Pin;

use super::api::Ec2Api;
use super::error::{AwsError, RegionSource};

/// Connects to EC2: `(cluster.yaml's region, the zone of the node's providerID)`. The zone is
/// used when nothing else names a region.
pub type Connect = for<'a> fn(Option<&'a str>, Option<&'a str>) -> Connecting<'a>;

/// The future a [`Connect`] returns.
pub type Connecting<'a> = Pin<Box<dyn Future<Output = Result<Ec2, AwsError>> + Send + 'a>>;

/// A connected EC2 client.
pub struct Ec2 {
    api: Box<dyn Ec2Api>,
    /// The region.
    pub region: String,
    /// Where the region came from.
    pub region_source: RegionSource,
    /// The endpoint override in effect, if any.
    pub endpoint: Option<String>,
}

impl Ec2 {
    /// A client in `region`.
    pub fn new(
        api: impl Ec2Api + 'static,
        region: String,
        region_source: RegionSource,
        endpoint: Option<String>,
    ) -> Self {
        Self {
            api: Box::new(api),
            region,
            region_source,
            endpoint,
        }
    }

    /// The calls.
    pub fn api(&self) -> &dyn Ec2Api {
        &*self.api
    }
}
