namespace AttnEval.Core.Recipes;

/// <summary>
/// One problem found in a recipe, at the key or value that causes it.
/// </summary>
/// <param name="File">Full path of the recipe file that holds the offending text (an included file when the
/// problem is there), or <see cref="RecipeError.CommandLine"/> for a <c>--set</c> override.</param>
/// <param name="Line">1-based line; 0 for a <c>--set</c> override.</param>
/// <param name="Column">1-based column; for a <c>--set</c> override, the 1-based index of that override
/// among the overrides given.</param>
/// <param name="Message">What is wrong and what was expected, e.g.
/// <c>generation.top_p: 1.5 is out of range (0, 1]</c>.</param>
public sealed record RecipeError(string File, int Line, int Column, string Message)
{
    /// <summary>The file name used for errors in <c>--set</c> overrides.</summary>
    public const string CommandLine = "<command line>";

    /// <summary>Formats the error as <c>file:line:col: message</c>.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>A recipe could not be loaded; <see cref="Errors"/> lists every problem found (at least one).
/// The message is the errors, one per line, in <c>file:line:col: message</c> form.</summary>
public sealed class RecipeException : Exception
{
    /// <summary>Creates the exception from one or more errors.</summary>
    /// <exception cref="ArgumentException"><paramref name="errors"/> is empty.</exception>
    public RecipeException(IReadOnlyList<RecipeError> errors)
        : base(errors.Count == 0 ? throw new ArgumentException("at least one error is required", nameof(errors)) : string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    /// <summary>The problems, in the order they were found.</summary>
    public IReadOnlyList<RecipeError> Errors { get; }
}
