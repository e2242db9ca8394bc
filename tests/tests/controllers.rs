//! Controller scenarios against real clusters (3 store members, an apiserver, a scheduler,
//! controller-manager(s), nodelets), following the notes: ReplicationController and ReplicaSet
//! (replacement, relabelling, moving pods between controllers, scaling, template changes,
//! adoption after an orphaning delete, matchExpressions), garbage collection (Background,
//! Foreground, Orphan), DaemonSet placement by node labels (without the scheduler, and on a
//! node that joins later), Jobs (completions, parallelism, scaling, deadlines, backoff limits
//! under both restart policies), an every-minute CronJob and its starting deadline, a dead
//! node's pods replaced elsewhere, a controller-manager leader killed mid-scale, and every
//! component's /metrics read by a strict Prometheus parser.

#[path = "controllers/util.rs"]
mod util;

#[path = "controllers/replication.rs"]
mod replication;

#[path = "controllers/garbage.rs"]
mod garbage;

#[path = "controllers/daemonset.rs"]
mod daemonset;

#[path = "controllers/jobs.rs"]
mod jobs;

#[path = "controllers/job_failures.rs"]
mod job_failures;

#[path = "controllers/cronjob.rs"]
mod cronjob;

#[path = "controllers/nodes.rs"]
mod nodes;

#[path = "controllers/leader.rs"]
mod leader;

#[path = "controllers/bench.rs"]
mod bench;

#[path = "controllers/metrics.rs"]
mod metrics;
