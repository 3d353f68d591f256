"""`qa bench` (eval/speed.py): the busy neighbour it starts and stops, its percentiles and its report."""

import os
import time

from eval.speed import AnswerRow, IndexingRow, Latency, SpeedReport, _p50_p95, busy_neighbour, report_markdown


def test_the_busy_neighbour_burns_every_core_and_is_gone_afterwards():
    before = os.times()
    with busy_neighbour(seconds=30):
        time.sleep(1.0)
    after = os.times()  # waited for: their CPU time is counted once they have ended
    burned = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    assert burned > 0.5 * (os.cpu_count() or 1) * 0.5


def test_percentiles_of_a_known_list():
    assert _p50_p95([i / 1000 for i in range(1, 101)]) == (50.5, 95.0)
    assert _p50_p95([0.002]) == (2.0, 2.0)


def test_the_report_divides_by_the_baseline_of_the_same_run():
    quiet, busy = Latency(20.0, 30.0, 10.0, 12.0), Latency(50.0, 80.0, 30.0, 40.0)
    report = SpeedReport(
        default="e5-small-onnx-int8",
        cold_ask_s={"torch": 8.0, "ONNX Runtime int8": 2.0, "ONNX Runtime int8，qa serve 运行中": 0.2},
        answers=[AnswerRow("torch 编码器", quiet, busy)],
        reader_share={"quiet": 0.25},
        indexing=[IndexingRow("torch", 100, 10.0, 11.0), IndexingRow("ONNX Runtime int8", 100, 30.0, 33.0, 0.98, 0.99)],
    )
    text = report_markdown(report)
    assert "| ONNX Runtime int8 | 2.00 | 0.25× |" in text and "| ONNX Runtime int8，qa serve 运行中 | 0.20 | 0.03× |" in text
    assert "| 50.0 | 80.0 | 30.0 | 40.0 | 2.50× |" in text  # busy over quiet
    assert "| ONNX Runtime int8 | 100 | 30.0 | 3.00× | 33.0 | 0.9800 / 0.9900 |" in text
    assert "安静 25%" in text
