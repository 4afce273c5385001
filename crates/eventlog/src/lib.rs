//! Open any Spark event log (single file, rolling directory, legacy 1.x directory; every codec
//! Spark writes; in-progress or truncated) and stream typed events in order, with bounded memory.
//! No analysis happens here.
