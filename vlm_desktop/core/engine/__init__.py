"""Engine protocol, result types and backends."""
