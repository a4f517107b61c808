namespace AttnEval.TestSupport;

/// <summary>The lab model shipped in the repository (<c>samples/models/attneval-lab</c>) and held-out questions in its
/// quickstart format, for tests that need a real model without the shared data folder.</summary>
public static class LabModel
{
    /// <summary>The model folder.</summary>
    public static string Folder => Path.Combine(SharedData.RepoRoot, "samples", "models", "attneval-lab");

    /// <summary>Five arithmetic questions of different lengths (so a batch of them needs left padding).</summary>
    public static IReadOnlyList<string> Questions { get; } =
    [
        "Begin with 8. Plus 7. What is the final number?",
        "Take the number 7. Then add 1. Then add 7. Plus 1. Then multiply by 9. What number do you get?",
        "Begin with 1. Multiply by 5. Then subtract 5. What number do you get?",
        "Take the number 18. Plus 77. What is the final number?",
        "Start with 6. Add 8. Then add 9. Plus 3. What is the result?",
    ];

    /// <summary>The quickstart recipe's prompt for <paramref name="question"/>.</summary>
    public static string Prompt(string question) => $"Question: {question}\nAnswer:";
}
