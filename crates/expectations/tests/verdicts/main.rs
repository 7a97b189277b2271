//! Expectations judged on stub networks (run through the fake deployer):
//! each fails when it should, naming the culprit, and passes when it should.

use std::sync::Arc;
use std::time::Duration;

use expectations::{Agreement, DaAvailability, Liveness, Recovery, TxInclusion, check};
use scenario_core::fake::FakeDeployer;
use scenario_core::ledger::{Ledger, TxRecord};
use scenario_core::prelude::*;
use scenario_core::{BlobId, BlobSample, Block, ClientError, NodeEndpoint, NodeInfo, TxId};

// Every module of this test shares the imports above through `use super::*`.

mod chain;
mod combinators;
mod inclusion;
mod stub;

use stub::*;
