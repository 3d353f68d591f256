"""Evaluation stage: measures answers and retrieval on a question set, through the qa surface."""

from eval.run import Question, evaluate, load_set, report_comparison, report_json, report_text

__all__ = ["Question", "evaluate", "load_set", "report_comparison", "report_json", "report_text"]
