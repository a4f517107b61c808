namespace AttnEval.Core.Datasets;

/// <summary>The <c>dataset:</c> section of a recipe: where the items are and how their fields map.</summary>
/// <param name="Path">Full path of the file (JSONL, JSON array or CSV).</param>
/// <param name="Format"><c>jsonl</c>, <c>json</c> or <c>csv</c>; null = from the file extension.</param>
/// <param name="Input">Field holding the input text (dotted path allowed).</param>
/// <param name="Target">Field holding the reference answer, or null.</param>
/// <param name="Id">Field holding a stable id, or null to use <c>{file-stem}-{line/index}</c>.</param>
/// <param name="Limit">Keep the first <c>Limit</c> items (after shuffling), or null for all; ≥ 1.</param>
/// <param name="Seed">Seed of the shuffle.</param>
/// <param name="Shuffle">Shuffle the items with <paramref name="Seed"/> before taking <paramref name="Limit"/>.</param>
public sealed record DatasetSpec(
    string Path,
    string? Format = null,
    string Input = "question",
    string? Target = "answer",
    string? Id = null,
    int? Limit = null,
    long Seed = 0,
    bool Shuffle = false);
