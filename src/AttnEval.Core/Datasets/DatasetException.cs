namespace AttnEval.Core.Datasets;

/// <summary>
/// A dataset file (or one record of it) cannot be read as the recipe's <c>dataset:</c> section says. The message is
/// one line: <c>{file}:{line}: {problem}</c> (or <c>{file}: {problem}</c> when no line applies), e.g.
/// <c>data/x.jsonl:17: invalid JSON (expected ',' or '}' at column 23)</c>. The CLI maps it to exit code 2.
/// </summary>
/// <remarks>It derives from <see cref="IOException"/> because <see cref="InvalidDataException"/> is sealed; catch
/// <see cref="DatasetException"/> itself to map it to a usage/input error.</remarks>
public sealed class DatasetException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The dataset file as the recipe names it.</param>
    /// <param name="line">1-based physical line of the record (where it starts), or null.</param>
    /// <param name="column">1-based column (in characters) of the problem within that line, or null.</param>
    /// <param name="problem">What is wrong and what was expected (no location prefix).</param>
    /// <param name="innerException">The parser's exception, if any.</param>
    public DatasetException(string filePath, int? line, int? column, string problem, Exception? innerException = null)
        : base((line is null ? $"{filePath}: " : $"{filePath}:{line}: ") + problem, innerException)
    {
        FilePath = filePath;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The dataset file as the recipe names it.</summary>
    public string FilePath { get; }

    /// <summary>1-based line, or null when the problem concerns the whole file.</summary>
    public int? Line { get; }

    /// <summary>1-based column in characters, or null when unknown.</summary>
    public int? Column { get; }

    /// <summary>The problem without the location prefix.</summary>
    public string Problem { get; }
}
