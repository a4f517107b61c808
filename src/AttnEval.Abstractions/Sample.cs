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
