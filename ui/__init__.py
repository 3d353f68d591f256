"""Chat stage: a Gradio chat over qa's public surface."""
