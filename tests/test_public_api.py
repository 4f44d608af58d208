"""The public surface: what ``import oversight`` and each package offer, and nothing else."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_oversight_rejudge_stays_the_function_once_the_cli_is_loaded() -> None:
    # A submodule named like a lazy top-level function would replace it on the package as
    # soon as anything imported the submodule (the CLI does): the implementation is private.
    code = (
        "import oversight, oversight.cli; import inspect; "
        "assert inspect.isfunction(oversight.rejudge), oversight.rejudge; "
        "assert inspect.isfunction(oversight.rejudge)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_endpoint_keywords_are_typed_with_exactly_the_options_it_validates() -> None:
    from typing import get_type_hints

    from oversight.endpoints import EndpointArgs, EndpointOptions, endpoint

    assert set(EndpointArgs.__annotations__) == set(EndpointOptions.model_fields)
    assert get_type_hints(endpoint, include_extras=True)["options"].__args__ == (EndpointArgs,)


@pytest.mark.parametrize(
    "name", ["run_experiment", "run_experiment_async", "rejudge", "rejudge_async"]
)
def test_run_and_rejudge_options_are_one_list_each_and_unknown_ones_are_refused(
    name: str, tmp_path: Path
) -> None:
    import oversight

    function = getattr(oversight, name)
    options = oversight.RejudgeOptions if "rejudge" in name else oversight.RunOptions
    assert "max_cost_usd" in options.__annotations__
    parameters = inspect.signature(function).parameters.values()
    assert inspect.Parameter.VAR_KEYWORD in {p.kind for p in parameters}  # Unpack[options]
    positional = [tmp_path / "x", *(["llm:mock/j"] if "rejudge" in name else [])]
    with pytest.raises(TypeError, match=r"unexpected keyword.*'max_cost'.*max_cost_usd"):
        result = function(*positional, max_cost=1)
        if inspect.iscoroutine(result):
            asyncio.run(result)


# The public surface of each package: what users import. Changing it is a decision, so it
# is written down here (as httpx's tests do); a package's __init__ only re-exports.
PUBLIC: dict[str, list[str]] = {
    "oversight": [
        "Experiment",
        "OversightError",
        "RejudgeOptions",
        "RejudgeResult",
        "RunOptions",
        "RunResult",
        "__version__",
        "dry_run",
        "endpoint",
        "load_experiment",
        "load_questions",
        "rejudge",
        "rejudge_async",
        "run_experiment",
        "run_experiment_async",
    ],
    "transcripts": [
        "QUESTION_REF",
        "SCHEMA_VERSION",
        "TIE_TOLERANCE",
        "Call",
        "Entry",
        "QuestionFile",
        "CritiqueOutcome",
        "Decision",
        "CritiqueRating",
        "Escalation",
        "JsonlLog",
        "JudgeIdentity",
        "JudgeKind",
        "JudgeView",
        "Judgment",
        "Planted",
        "Question",
        "Quote",
        "Record",
        "Role",
        "RunStore",
        "StoredRecords",
        "TornRecordWarning",
        "Transcript",
        "Tree",
        "TreeKind",
        "TreeNode",
        "Turn",
        "Usage",
        "ViewQuote",
        "ViewTurn",
        "Visibility",
        "answer_label",
        "new_id",
        "render_judge_view",
        "render_transcript",
        "score",
        "status_rank",
        "top_answers",
        "total_cost",
        "upgrade_v1",
        "utc_now",
        "verdict",
        "write_json_atomic",
    ],
    "judges": [
        "EscalationPolicy",
        "FallbackJudge",
        "FallbackJudgeConfig",
        "FallbackOptions",
        "HumanJudge",
        "HumanJudgeConfig",
        "HumanJudgeOptions",
        "HumanQuit",
        "Judge",
        "JudgeConfig",
        "JudgeOptions",
        "JudgeQuestion",
        "LLMJudge",
        "LLMJudgeConfig",
        "LLMJudgeOptions",
        "LiveBelief",
        "LiveHumanJudge",
        "PanelJudge",
        "PanelJudgeConfig",
        "PanelOptions",
        "build_judge",
        "final_judgments",
        "parse_judge_config",
        "pending_escalations",
    ],
    "protocols": [],
    "oversight.endpoints": [
        "BATCH_DISCOUNT",
        "PRICES_AS_OF",
        "Backend",
        "Completion",
        "Endpoint",
        "EndpointArgs",
        "EndpointOptions",
        "Message",
        "MessageLike",
        "MockBackend",
        "MockReply",
        "Price",
        "Reply",
        "Request",
        "TokenLogprob",
        "batchable_calls",
        "cost_usd",
        "dry_run_reply",
        "endpoint",
        "lookup_price",
        "option_problems",
        "render_correction",
        "set_price",
        "strict_object",
    ],
    "oversight.runner": [
        "STATUSES",
        "DryRun",
        "EndpointEstimate",
        "RunOptions",
        "RunResult",
        "Status",
        "dry_run",
        "read_status",
        "run_experiment",
        "run_experiment_async",
        "select_transcripts",
        "stress_experiment",
        "stressed_personas",
    ],
    "oversight.analysis": [
        "ANALYSIS_SCHEMA_VERSION",
        "BUILTIN_FIELDS",
        "BeliefCurve",
        "BeliefPoint",
        "DEFAULT_BY",
        "DEFAULT_PRIOR_SD",
        "DEFAULT_THRESHOLDS",
        "SIDE_PRIOR_SD",
        "Agreement",
        "Analysis",
        "AnnotatorPair",
        "AnnotatorStats",
        "AnnotatorTable",
        "CalibrationBin",
        "ClusterEstimate",
        "Comparison",
        "DebaterStats",
        "EloRelation",
        "EscalationStats",
        "GDCEstimate",
        "GDCStats",
        "GroupStats",
        "InjectionCount",
        "JudgeComparison",
        "JudgePairAgreement",
        "McNemar",
        "ModelFit",
        "ModelTerm",
        "PilotInputs",
        "PlayerRating",
        "PlayerRatings",
        "PlayerResult",
        "PowerPlan",
        "RatingTable",
        "SelectivePoint",
        "Settings",
        "SideRating",
        "SideRatings",
        "Slice",
        "Slope",
        "Totals",
        "TournamentTable",
        "TreeStats",
        "accuracy_vs_elo",
        "analyze",
        "annotators",
        "cohens_kappa",
        "expected_calibration_error",
        "fit_bradley_terry",
        "gdc",
        "icc_from_scores",
        "krippendorff_alpha",
        "mcnemar_exact",
        "pilot_inputs",
        "plan_sample_size",
        "rate_players",
        "rate_players_by_side",
        "tree_stats",
    ],
    "oversight.report": [
        "DEFINITIONS",
        "ReportFiles",
        "gdc_markdown",
        "gdc_table",
        "print_gdc",
        "print_report",
        "render_json",
        "render_markdown",
        "render_terminal",
        "tree_table",
        "trees_markdown",
        "write_plots",
        "write_report",
    ],
    "oversight.experiment": [
        "LIMIT_FLAGS",
        "Condition",
        "Counterbalance",
        "EndpointConfig",
        "Experiment",
        "Limits",
        "PlayerConfig",
        "Split",
        "StressSpec",
        "Tournament",
        "check_experiment",
        "load_experiment",
        "secret_problems",
        "with_limits",
    ],
    "oversight.datasets": [
        "LOADERS",
        "DatasetOptions",
        "DatasetSpec",
        "FieldMap",
        "GPQASpec",
        "GenericSpec",
        "HFSpec",
        "MMLUSpec",
        "NYUSpec",
        "QualitySpec",
        "SampleSpec",
        "load_questions",
    ],
    "oversight.testing": [
        "FAKE_KEY_VARIABLE",
        "FakeAnthropicServer",
        "FakeOpenAIServer",
        "FakeReply",
        "FakeServer",
        "Fault",
        "FaultPlan",
        "RecordedRequest",
        "ReplyScript",
        "Scripted",
        "cli_command",
        "fake_experiment",
        "line_count",
        "scripted_verdict",
        "signal_after",
    ],
    "oversight.cli": [
        "entry",
        "main",
    ],
    "oversight.errors": [
        "CacheMissError",
        "ConfigError",
        "CorruptRecordError",
        "CostCapReached",
        "DatasetError",
        "EndpointError",
        "JudgeError",
        "MissingAPIKeyError",
        "OversightError",
        "ProtocolError",
        "ProviderError",
        "RetriesExhaustedError",
        "SchemaVersionError",
        "StoreError",
        "StructuredOutputError",
    ],
    "transcripts.importers": [
        "ImportSummary",
        "SkippedRoom",
        "import_nyu_debate",
    ],
}


def _package_names(module: object) -> set[str]:
    """Public attributes that are not submodules (what ``from P import *`` could leak)."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in ("annotations",)
    }


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_every_public_name_is_exported_and_nothing_else(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported)
    assert sorted(exported) == sorted(PUBLIC[package])
    for name in exported:
        assert getattr(module, name) is not None
    if package != "oversight":  # the root loads its names lazily (PEP 562)
        assert _package_names(module) <= set(exported), "public but not in __all__"


def _lazy_re_export(node: ast.stmt) -> bool:
    """The parts of a PEP 562 lazy re-export: imports for type checkers only, the table of
    names to modules, and ``__getattr__`` / ``__dir__``."""
    if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
        return all(isinstance(n, ast.Import | ast.ImportFrom) for n in node.body)
    if isinstance(node, ast.AnnAssign | ast.Assign) and "_LAZY" in ast.unparse(node).split(":")[0]:
        return True
    return isinstance(node, ast.FunctionDef) and node.name in ("__getattr__", "__dir__")


@pytest.mark.parametrize("package", sorted(p for p in PUBLIC if p != "oversight"))
def test_a_package_init_only_re_exports(package: str) -> None:
    path = ROOT / package.replace(".", "/") / "__init__.py"
    if not path.exists():
        path = path.parent.with_suffix(".py")  # a module, such as oversight.errors
    body = ast.parse(path.read_text()).body
    allowed = (ast.Import, ast.ImportFrom)
    for node in body:
        if isinstance(node, allowed):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Assign | ast.AnnAssign) and "__all__" in ast.unparse(node):
            continue
        if _lazy_re_export(node):
            continue
        raise AssertionError(
            f"{path.relative_to(ROOT)}:{node.lineno}: only imports and "
            f"__all__ belong in a package's __init__"
        )
