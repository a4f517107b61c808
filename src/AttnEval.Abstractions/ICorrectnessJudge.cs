namespace AttnEval.Abstractions;

/// <summary>Decides whether a model answer is correct for a sample (specs/uq-methods.md §6).</summary>
public interface ICorrectnessJudge
{
    /// <summary>Judge name used in recipes (<c>judge.kind</c>).</summary>
    string Name { get; }

    /// <summary>Judges one answer.</summary>
    /// <exception cref="InvalidDataException">The sample has no usable reference (message names the field).</exception>
    JudgeVerdict Judge(string answer, Sample sample);
}
