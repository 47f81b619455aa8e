"""The offline evaluation harness behind `drafter eval`.

One module per responsibility: ``datasets`` (load and validate evals/datasets/*.jsonl),
``textcompare`` (Chinese-aware comparison), ``rewrite_suite`` / ``draft_suite`` /
``retrieval`` (the checks and figures of each suite), ``runner`` (engines: offline, llm,
replay of evals/cassettes; timings kept apart), ``report`` (terminal table, HTML),
``baseline`` (run-to-run comparison, thresholds) and ``feedback_cases`` (app feedback into
rewrite cases). Typical use::

    from drafter.evaluation import runner
    run = runner.run(["rewrite", "draft", "retrieval"], engine="offline")
    run["summary"]["rewrite"]["pass_rate"]
"""
