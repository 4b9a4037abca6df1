//! The exit status of each kind of ending, as `--help` and the README list them: 0 success,
//! 1 "differs / not ready / a check failed", 2 invalid input, 3 the cluster or AWS refused
//! or failed, 130 interrupted (`security_groups` checks that one with an interrupt while opening ports).

use crate::cluster::Sim;
use crate::harness::Scratch;

#[test]
fn help_lists_the_exit_codes() {
    let help = Scratch::fixture().run(&["--help"]).success();
    let table = &help[help.find("Exit status:").expect("an exit status section")..];
    for code in ["  0 ", "  1 ", "  2 ", "  3 ", "  130 "] {
        assert!(table.contains(code), "{table}");
    }
}

#[test]
fn bad_flag_values_and_invalid_stack_files_exit_2() {
    let scratch = Scratch::fixture();
    for args in [
        &["--stack", "nope"][..],
        &["--allow-from", "nope"],
        &["--no-such-flag"],
    ] {
        let run = scratch.render(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    let run = scratch.run(&["bootstrap", "--stacks", "stacks", "--timeout", "0s"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    scratch.edit("stacks/bookinfo.yaml", "namespace:", "namespaces:");
    scratch.render(&[]).failure();
    scratch.remove("stacks/cluster.yaml");
    scratch.remove("stacks/bookinfo.yaml");
    scratch.render(&[]).failure();
}

#[test]
fn an_unreachable_cluster_exits_3_and_one_not_ready_exits_1() {
    let scratch = Scratch::fixture();
    scratch.write_unreachable_kubeconfig();
    let err = scratch
        .run(&["status", "--stacks", "stacks", "--kubeconfig", "kubeconfig"])
        .refused();
    assert!(err.starts_with("error: failed to discover"), "{err}");
    let sim = Sim::new();
    let run = sim.run("status", &["--exit-code"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(sim.run("status", &[]).code, 0);
}
