"""Evaluation stage: measures answers and retrieval on a question set, through the qa surface."""

from eval.run import (
    Evaluation,
    evaluate,
    evaluate_config,
    load_set,
    report_comparison,
    report_json,
    report_text,
)

__all__ = [
    "Evaluation",
    "evaluate",
    "evaluate_config",
    "load_set",
    "report_comparison",
    "report_json",
    "report_text",
]
