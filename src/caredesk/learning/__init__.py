"""The triage model's learning loop, beside the pipeline: agents' label corrections (corrections.py: which
heads and labels; correction_actions.py: stored, audited; explain.py: the workbench panel they are made in),
retraining on seed corpus + corrections (retrain.py, training_data.py for `caredesk train`, tasks.py: the
nightly task) and the rule that promotes a candidate (promotion.py, pure). Triage never imports this package."""
