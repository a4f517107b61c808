using AttnEval.Abstractions;

namespace AttnEval.Core.Judges;

/// <summary>The correctness judges that ship with the host (specs/uq-methods.md §6), for registration in the component catalog.</summary>
public static class BuiltInJudges
{
    /// <summary>
    /// One factory each of <c>exact</c> (<see cref="ExactMatchJudgeFactory"/>), <c>numeric-final-answer</c>
    /// (<see cref="NumericFinalAnswerJudgeFactory"/>), <c>alias-match</c> (<see cref="AliasMatchJudgeFactory"/>) and
    /// <c>rouge-l</c> (<see cref="RougeLJudgeFactory"/>). Factories are stateless and safe to share.
    /// </summary>
    public static IReadOnlyList<IJudgeFactory> All { get; } =
    [
        new ExactMatchJudgeFactory(),
        new NumericFinalAnswerJudgeFactory(),
        new AliasMatchJudgeFactory(),
        new RougeLJudgeFactory(),
    ];
}
