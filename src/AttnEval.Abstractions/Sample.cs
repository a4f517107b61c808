namespace AttnEval.Abstractions;

/// <summary>One dataset item, after field mapping.</summary>
/// <param name="Id">Stable sample id: the dataset's id field when mapped, else <c>"{file-stem}-{line-or-index}"</c>.
/// Unchanged by <c>limit</c> and shuffling, so a resumed run skips exactly the finished items.</param>
/// <param name="Input">The mapped input text (e.g. the question).</param>
/// <param name="Target">The mapped reference answer, or null.</param>
/// <param name="Fields">All raw fields of the record: strings, numbers (double), booleans, lists and nested dictionaries.</param>
public sealed record Sample(string Id, string Input, string? Target, IReadOnlyDictionary<string, object?> Fields)
{
    /// <summary>Reads a field by dotted path (<c>answer.aliases</c>); null when absent.</summary>
    public object? Field(string path)
    {
        object? cur = Fields;
        foreach (var part in path.Split('.'))
        {
            if (cur is IReadOnlyDictionary<string, object?> d && d.TryGetValue(part, out var next)) cur = next;
            else return null;
        }
        return cur;
    }
}

/// <summary>The verdict of a correctness judge on one answer.</summary>
/// <param name="Correct">Whether the answer counts as correct (the label the evaluation metrics use).</param>
/// <param name="Score">A graded score in [0, 1] (1/0 for exact judges, ROUGE-L F for <c>rouge-l</c>).</param>
/// <param name="Extracted">What the judge read from the answer (e.g. the final number), or null.</param>
/// <param name="Expected">What it compared against, or null.</param>
public sealed record JudgeVerdict(bool Correct, double Score, string? Extracted, string? Expected);

/// <summary>Decides whether a model answer is correct for a sample (specs/uq-methods.md §6).</summary>
public interface ICorrectnessJudge
{
    /// <summary>Judge name used in recipes (<c>judge.kind</c>).</summary>
    string Name { get; }

    /// <summary>Judges one answer.</summary>
    /// <exception cref="InvalidDataException">The sample has no usable reference (message names the field).</exception>
    JudgeVerdict Judge(string answer, Sample sample);
}
