"""The main job's output: result tables, exports (CSV, Parquet, Excel, JSON) and the
self-contained HTML report with plots."""
