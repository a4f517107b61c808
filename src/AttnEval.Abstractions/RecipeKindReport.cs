using System.Text.Json.Nodes;

namespace AttnEval.Abstractions;

/// <summary>A finished run of a plugin recipe kind, as <see cref="IRecipeKind.RenderReport"/> reads it (contract 1.5).</summary>
/// <param name="Summary">The run's <c>summary.json</c>; the kind's own numbers are under <c>result</c>.</param>
/// <param name="Records">The run's <c>samples.jsonl</c> records, in file order.</param>
/// <param name="RunDirectory">The run folder (full path), for artifacts the kind wrote.</param>
public sealed record RecipeKindReport(JsonObject Summary, IReadOnlyList<JsonObject> Records, string RunDirectory);
