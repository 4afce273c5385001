//! Plan rules over SQL executions: `small_files`, `large_broadcast`, `python_udf`,
//! `nested_loop_join`.

use crate::model::{Model, SqlExecution};
use crate::report::fmt;
use crate::summary::{Insight, InsightKind, Severity};

use super::{Draft, LargeBroadcast, NestedLoopJoin, PythonUdf, SmallFiles};

/// Sum of one SQL metric over the nodes of an execution.
fn metric_sum(q: &SqlExecution, node: impl Fn(&str) -> bool, name: &str) -> u64 {
    q.metrics
        .iter()
        .filter(|m| m.name == name && node(&m.node_name))
        .map(|m| u64::try_from(m.value).unwrap_or(0))
        .sum()
}

fn is_scan(n: &str) -> bool {
    n.starts_with("Scan") || n.contains("FileScan") || n.starts_with("BatchScan")
}

fn is_write(n: &str) -> bool {
    n.contains("InsertInto") || n.contains("WriteFiles") || n.contains("Write")
}

/// `small_files`: see [`SmallFiles`]. Uses the scan metrics `number of files read` / `size of
/// files read` and the write metrics `number of written files` / `written output`.
pub fn small_files(model: &Model, th: &SmallFiles) -> Option<Insight> {
    struct Hit {
        execution_id: u64,
        direction: &'static str,
        files: u64,
        bytes: u64,
    }
    let mut hits = Vec::new();
    for q in &model.sql {
        let read_files = metric_sum(q, is_scan, "number of files read");
        let read_bytes = metric_sum(q, is_scan, "size of files read");
        let written_files = metric_sum(q, is_write, "number of written files");
        let written_bytes = metric_sum(q, is_write, "written output");
        for (direction, files, bytes) in [
            ("read", read_files, read_bytes),
            ("written", written_files, written_bytes),
        ] {
            if files > th.min_files && bytes / files.max(1) < th.max_avg_file_bytes {
                hits.push(Hit {
                    execution_id: q.execution_id,
                    direction,
                    files,
                    bytes,
                });
            }
        }
    }
    let worst = hits.iter().max_by_key(|h| h.files)?;
    let avg = worst.bytes / worst.files.max(1);
    let ideal = worst.bytes.div_ceil(th.target_file_bytes.max(1)).max(1);
    let mut ids: Vec<u64> = hits.iter().map(|h| h.execution_id).collect();
    ids.dedup();
    let advice = if worst.direction == "read" {
        format!(
            "Compact the input into files of about {} (e.g. rewrite it with .repartition({ideal})), and raise spark.sql.files.openCostInBytes / spark.sql.files.maxPartitionBytes so Spark packs more small files into each task.",
            fmt::bytes(th.target_file_bytes)
        )
    } else {
        format!(
            "Repartition before writing (e.g. .repartition({ideal}) or by the partition columns) so each file is about {}, or enable spark.sql.adaptive.coalescePartitions.enabled.",
            fmt::bytes(th.target_file_bytes)
        )
    };
    Some(
        Draft::new(InsightKind::SmallFiles, Severity::Warning, "Small files")
            .message(format!(
                "SQL execution {} {} {} files averaging {} ({} in all): opening and listing each file costs more than reading it. {advice}",
                worst.execution_id,
                worst.direction,
                fmt::count(worst.files),
                fmt::bytes(avg),
                fmt::bytes(worst.bytes),
            ))
            .evidence("sql_execution_ids", ids)
            .evidence("sql_execution_id", worst.execution_id)
            .evidence("files", worst.files)
            .evidence("bytes", worst.bytes)
            .evidence("avg_file_bytes", avg)
            .evidence("direction", crate::summary::Evidence::Text(worst.direction.to_owned()))
            .threshold("min_files", th.min_files as f64)
            .threshold("max_avg_file_bytes", th.max_avg_file_bytes as f64)
            .build(),
    )
}

/// `large_broadcast`: see [`LargeBroadcast`]. Uses `BroadcastExchange`'s `data size` metric.
pub fn large_broadcast(model: &Model, th: &LargeBroadcast) -> Option<Insight> {
    let mut hits: Vec<(u64, u64)> = Vec::new();
    for q in &model.sql {
        let biggest = q
            .metrics
            .iter()
            .filter(|m| m.node_name == "BroadcastExchange" && m.name == "data size")
            .map(|m| u64::try_from(m.value.max(m.max_update)).unwrap_or(0))
            .max();
        if let Some(b) = biggest.filter(|b| *b >= th.min_broadcast_bytes) {
            hits.push((q.execution_id, b));
        }
    }
    let &(exec, size) = hits.iter().max_by_key(|h| h.1)?;
    let severity = if size >= th.critical_broadcast_bytes {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Some(
        Draft::new(InsightKind::LargeBroadcast, severity, "Large broadcast")
            .message(format!(
                "SQL execution {exec} broadcast {} to every executor (Spark's default limit for automatic broadcasts, spark.sql.autoBroadcastJoinThreshold, is 10 MiB). A broadcast this size is collected on the driver and copied to every executor, costing driver memory and network. Lower spark.sql.autoBroadcastJoinThreshold back toward its default or remove the broadcast() hint so Spark uses a sort-merge join, or filter and select only the needed columns of the broadcast side first.",
                fmt::bytes(size),
            ))
            .evidence("sql_execution_ids", hits.iter().map(|h| h.0).collect::<Vec<u64>>())
            .evidence("sql_execution_id", exec)
            .evidence("broadcast_bytes", size)
            .threshold("min_broadcast_bytes", th.min_broadcast_bytes as f64)
            .build(),
    )
}

/// Executions whose plan has a node matching `pred`, with the number of such nodes.
fn plan_nodes(model: &Model, pred: impl Fn(&str) -> bool) -> (Vec<u64>, u64, Vec<String>) {
    let mut ids = Vec::new();
    let mut count = 0;
    let mut names: Vec<String> = Vec::new();
    for q in &model.sql {
        let n: Vec<&String> = q.node_names.iter().filter(|n| pred(n)).collect();
        if !n.is_empty() {
            ids.push(q.execution_id);
            count += n.len() as u64;
            for name in n {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    (ids, count, names)
}

/// `python_udf`: see [`PythonUdf`].
pub fn python_udf(model: &Model, th: &PythonUdf) -> Option<Insight> {
    let (ids, count, _) = plan_nodes(model, |n| n.starts_with("BatchEvalPython"));
    if count < th.min_nodes.max(1) {
        return None;
    }
    Some(
        Draft::new(InsightKind::PythonUdf, Severity::Warning, "Row-at-a-time Python UDF")
            .message(format!(
                "{count} BatchEvalPython node(s) in SQL execution(s) {}: a row-at-a-time Python UDF sends every row to a Python worker and back, pickled one at a time. Replace it with built-in functions (pyspark.sql.functions) where possible, or make it vectorised: a pandas_udf, @udf(useArrow=True), or spark.sql.execution.pythonUDF.arrow.enabled=true.",
                fmt::ids(&ids, 5),
            ))
            .evidence("sql_execution_ids", ids)
            .evidence("nodes", count)
            .threshold("min_nodes", th.min_nodes as f64)
            .build(),
    )
}

/// `nested_loop_join`: see [`NestedLoopJoin`].
pub fn nested_loop_join(model: &Model, th: &NestedLoopJoin) -> Option<Insight> {
    let (ids, count, names) = plan_nodes(model, |n| {
        n.starts_with("BroadcastNestedLoopJoin") || n.starts_with("CartesianProduct")
    });
    if count < th.min_nodes.max(1) {
        return None;
    }
    Some(
        Draft::new(InsightKind::NestedLoopJoin, Severity::Warning, "Nested-loop join")
            .message(format!(
                "{} in SQL execution(s) {}: every row of one side is compared with every row of the other, so the cost grows with the product of both sizes. Give the join an equality condition on a key (an equi-join lets Spark hash or sort-merge join); for range conditions, join on a bucketed key (e.g. floor(ts / 3600)) first and then filter; avoid accidental cross joins from missing join keys.",
                names.join(" / "),
                fmt::ids(&ids, 5),
            ))
            .evidence("sql_execution_ids", ids)
            .evidence("nodes", count)
            .evidence("node_names", crate::summary::Evidence::Text(names.join(",")))
            .threshold("min_nodes", th.min_nodes as f64)
            .build(),
    )
}
