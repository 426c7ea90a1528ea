"""Integration tests of record disputes (征信业管理条例 §25) and the enterprise's "my data"."""
