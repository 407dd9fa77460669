"""`failing-tools`: a reverie rule.

As made by `reverie rule new`, it finds the tools whose calls fail, one pattern per tool, from
the structure of the log alone (a tool call with an error), never from the words of messages.
Change it into your own: keep `info()` honest about the inputs it reads, give every pattern a
stable key, and list every interaction that shows it.

componentize-py finds the rule by names, so keep them: this module is `rule` (named after the
contract's exported interface), `Rule` holds the interface's function (`info`) and `Analyser`
its resource, with every method the contract gives it, `detect` included.
"""

from wit_world import exports
from wit_world.exports import rule
from wit_world.imports import types

from reverie_rule import MAX_EVIDENCE, guarded, setting_or

# The rule's own version; keep it in step with pyproject.toml.
VERSION = "0.1.0"


class Rule(exports.Rule):
    def info(self) -> types.RuleInfo:
        return types.RuleInfo(
            name="failing-tools",
            version=VERSION,
            description="Tools whose calls fail, one pattern per tool.",
            stages=[types.Stage.ANALYSE],
            # Only tool calls are copied into the sandbox: declare no more than you read.
            inputs=types.Inputs.TOOL_CALLS,
            settings=[
                types.SettingSpec(
                    name="min_occurrences",
                    description="Report a tool once this many interactions show it failing (default 1).",
                    default_value="1",
                )
            ],
        )


# `guarded`: an exception in any method reaches the host as the rule's error, with its traceback.
@guarded
class Analyser(rule.Analyser):
    def __init__(self, min_occurrences: int) -> None:
        # A tool is reported once this many interactions show its calls failing.
        self.min_occurrences = min_occurrences
        # Per tool, the interactions where a call failed, in window order.
        self.failing: dict[str, list[str]] = {}

    @classmethod
    def create(cls, context: types.CycleContext) -> "Analyser":
        return cls(setting_or(context, "min_occurrences", 1, int))

    def detect(self, interactions: list[types.Interaction]) -> list[types.InferredFeedback]:
        # Never called (info() declares only `analyse`), but it must exist: the contract's
        # resource has it, and a class without it cannot be made.
        return []

    def analyse(self, chunk: types.Chunk) -> None:
        for interaction in chunk.interactions:
            for call in interaction.tool_calls:
                if call.error is None:
                    continue
                ids = self.failing.setdefault(call.name, [])
                if not ids or ids[-1] != interaction.id:
                    ids.append(interaction.id)

    def finish(self) -> types.Findings:
        patterns = [
            types.Pattern(
                key=f"failing-tools/{tool}",
                title=f"`{tool}` calls fail",
                description=f"{len(ids)} interactions had a `{tool}` call that returned an error, e.g. {ids[0]}.",
                severity=types.Severity.MEDIUM,
                occurrences=len(ids),
                evidence=ids[:MAX_EVIDENCE],
            )
            for tool, ids in sorted(self.failing.items())
            if len(ids) >= self.min_occurrences
        ]
        return types.Findings(patterns=patterns, suggestions=[], metrics=[])
