//! One failed read, delete or lock request does not end a run: a 500, a 409 on a request
//! that is not an apply, or a lost connection is tried again, within a bound.

use crate::apiserver::{Fault, FaultAction};
use crate::cluster::Sim;

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
const INVENTORY: &str = "/api/v1/namespaces/kube-system/configmaps/obsboot-inventory-obsboot";

#[test]
fn a_failed_read_delete_or_lock_request_is_retried() {
    let sim = Sim::new();
    // The lock is taken but the answer is lost; the inventory read meets a 409, then a 500.
    sim.server.inject(
        Fault::new(FaultAction::DropAfterCommit)
            .method("POST")
            .path(LEASES)
            .times(1),
    );
    sim.server.inject(
        Fault::status(409, "Conflict", "simulated")
            .method("GET")
            .path(INVENTORY)
            .times(1),
    );
    sim.server.inject(
        Fault::status(500, "InternalError", "simulated")
            .method("GET")
            .path(INVENTORY)
            .times(1),
    );
    let run = sim.run("bootstrap", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(sim.lock_lease().is_none(), "the lock was given back");

    // Teardown: a list fails, a delete meets a 409, the lock's release loses its connection.
    sim.server.inject(
        Fault::status(500, "InternalError", "simulated")
            .method("GET")
            .query("labelSelector")
            .times(1),
    );
    sim.server.inject(
        Fault::status(409, "Conflict", "simulated")
            .method("DELETE")
            .times(1),
    );
    sim.server.inject(
        Fault::new(FaultAction::DropConnection)
            .method("DELETE")
            .path(LEASES)
            .times(1),
    );
    let run = sim.run("teardown", &["--yes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sim.ours(), Vec::<String>::new());
    assert!(sim.lock_lease().is_none(), "the lock was given back");
    let failed: Vec<u16> = sim
        .server
        .journal()
        .iter()
        .map(|r| r.status)
        .filter(|&s| s == 0 || s == 409 || s == 500)
        .collect();
    assert!(failed.len() >= 6, "every fault was met: {failed:?}");
}
