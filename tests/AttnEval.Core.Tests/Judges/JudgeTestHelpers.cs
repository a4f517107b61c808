using AttnEval.Abstractions;

namespace AttnEval.Core.Tests.Judges;

internal static class JudgeTestHelpers
{
    public static Sample Sample(string? target, Dictionary<string, object?>? fields = null, string id = "s-1") =>
        new(id, "question?", target, fields ?? new Dictionary<string, object?>());

    public static OptionValues Options(params (string Key, object? Value)[] values) =>
        new(values.ToDictionary(v => v.Key, v => v.Value));
}
