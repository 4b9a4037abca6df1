//! The Job controller: runs pods until `completions` have succeeded, then reports the
//! Job Complete (what `is_job_completed` waits for).

use serde_json::{Value, json};

use super::super::json;
use super::super::state::State;
use super::super::writes::suffix;
use super::conditions::{self, Style};
use super::templates;
use super::{Changes, KCM, create, write_status};

/// Brings every Job to completion.
pub fn reconcile(state: &mut State, changes: &Changes) {
    let dirty: Vec<Value> = state
        .store
        .list("batch", "jobs")
        .filter(|job| {
            !json::deleting(job) && !json::condition_true(job, "Complete") && changes.touches(job)
        })
        .cloned()
        .collect();
    for job in dirty {
        let pods = super::owned(state, "", "pods", json::namespace(&job), json::uid(&job));
        let (uid, namespace, name) = (
            json::uid(&job).to_owned(),
            json::namespace(&job).to_owned(),
            json::name(&job).to_owned(),
        );
        let owned = templates::owned_pods(&pods, &namespace, &uid);
        let succeeded = owned
            .iter()
            .filter(|p| json::str_at(p, "/status/phase") == "Succeeded")
            .count();
        let active: Vec<&&Value> = owned.iter().filter(|p| templates::active(p)).collect();
        let completions = usize::try_from(json::int_at(&job, "/spec/completions", 1)).unwrap_or(1);
        let parallelism = usize::try_from(json::int_at(&job, "/spec/parallelism", 1)).unwrap_or(1);
        let start = job
            .pointer("/status/startTime")
            .cloned()
            .unwrap_or_else(|| json::now().into());
        let mut status =
            json!({"startTime": start, "terminating": 0, "uncountedTerminatedPods": {}});
        if succeeded >= completions {
            let mut list = conditions::of(&job);
            conditions::set(
                &mut list,
                Style::Plain,
                "SuccessCriteriaMet",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            );
            conditions::set(
                &mut list,
                Style::Plain,
                "Complete",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            );
            status["conditions"] = json!(list);
            status["succeeded"] = succeeded.into();
            status["ready"] = 0.into();
            status["completionTime"] = json::now().into();
        } else {
            let wanted = parallelism.min(completions - succeeded);
            let template = job
                .pointer("/spec/template")
                .cloned()
                .unwrap_or_else(|| json!({}));
            for _ in active.len()..wanted {
                let pod_name = format!("{name}-{}", suffix(state.store.next_random()));
                let labels = [
                    ("batch.kubernetes.io/controller-uid", uid.clone()),
                    ("batch.kubernetes.io/job-name", name.clone()),
                    ("controller-uid", uid.clone()),
                    ("job-name", name.clone()),
                ];
                let pod = templates::pod(&template, &job, &pod_name, &labels);
                // Refused by admission: retried on the next pass.
                let _ = create(state, "", "pods", pod, KCM);
            }
            status["active"] = wanted.into();
            status["ready"] = active.iter().filter(|p| templates::ready(p)).count().into();
            if succeeded > 0 {
                status["succeeded"] = succeeded.into();
            }
        }
        if let Some(current) = state.store.get("batch", "jobs", &namespace, &name).cloned() {
            write_status(state, "batch", "jobs", &current, status, KCM);
        }
    }
}
