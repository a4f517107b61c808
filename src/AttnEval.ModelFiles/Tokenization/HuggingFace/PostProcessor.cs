using System.Text.Json;

namespace AttnEval.ModelFiles.Tokenization.HuggingFace;

/// <summary>What <c>add_special_tokens</c> wraps around one sequence: the single-sequence form of the
/// <c>post_processor</c> of <c>tokenizer.json</c> (<c>TemplateProcessing</c>, <c>BertProcessing</c>,
/// <c>RobertaProcessing</c>, <c>ByteLevel</c> (nothing), <c>Sequence</c>).</summary>
/// <param name="Prefix">Ids before the text.</param>
/// <param name="Suffix">Ids after the text.</param>
internal sealed record PostProcessor(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static PostProcessor None { get; } = new([], []);

    public static PostProcessor Read(JsonSection? section, Func<string, int?> tokenId)
    {
        if (section is not { } s || s.Element.ValueKind == JsonValueKind.Null) return None;
        var prefix = new List<int>();
        var suffix = new List<int>();
        Add(s, tokenId, prefix, suffix);
        return new PostProcessor(prefix, suffix);
    }

    private static void Add(JsonSection s, Func<string, int?> tokenId, List<int> prefix, List<int> suffix)
    {
        switch (s.Type)
        {
            case "ByteLevel":
                break;
            case "Sequence":
                foreach (var p in s.Items("processors")) Add(p, tokenId, prefix, suffix);
                break;
            case "TemplateProcessing":
            {
                var specials = s.Child("special_tokens");
                bool seenSequence = false;
                foreach (var item in s.Items("single"))
                {
                    if (item.Element.TryGetProperty("Sequence", out _)) { seenSequence = true; continue; }
                    var special = item.Child("SpecialToken");
                    var name = special.String("id") ?? throw special.Fail("has no \"id\"");
                    if (!specials.Element.TryGetProperty(name, out var def))
                        throw special.Fail($"names special token '{name}', which special_tokens does not define");
                    var ids = new JsonSection(def, s.File, $"{specials.Path}.{name}").Child("ids");
                    foreach (var id in ids.Element.EnumerateArray()) (seenSequence ? suffix : prefix).Add(id.GetInt32());
                }
                break;
            }
            case "BertProcessing":
            case "RobertaProcessing":
            {
                var cls = s.Child("cls");
                var sep = s.Child("sep");
                prefix.Add(cls.Element[1].GetInt32());
                suffix.Add(sep.Element[1].GetInt32());
                break;
            }
            default:
                throw s.Unsupported("post-processor", "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and Sequence");
        }
    }
}
