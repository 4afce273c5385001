//! Run Spark applications (spark-submit; local / standalone backends), layer their configuration,
//! sandbox them per instance, track their state machine and logs, and analyse + export at the end.
