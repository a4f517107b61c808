using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AttnEval.ModelFiles.Tokenization.HuggingFace;

/// <summary>The <c>decoder</c> of <c>tokenizer.json</c>: turns token strings back into text, as Hugging Face's
/// <c>tokenizers</c> <c>decode_chain</c> does. Types read: <c>ByteLevel</c>, <c>Metaspace</c>, <c>Replace</c>,
/// <c>ByteFallback</c>, <c>Fuse</c>, <c>Strip</c>, <c>Sequence</c>. Without a decoder the tokens are joined by spaces.</summary>
internal sealed class TokenDecoder
{
    private readonly IReadOnlyList<Func<List<string>, List<string>>> _steps;
    private readonly bool _present;

    private TokenDecoder(IReadOnlyList<Func<List<string>, List<string>>> steps, bool present)
    {
        _steps = steps;
        _present = present;
    }

    public string Decode(IEnumerable<string> tokens)
    {
        var list = tokens.ToList();
        if (!_present) return string.Join(' ', list);
        foreach (var s in _steps) list = s(list);
        return string.Concat(list);
    }

    public static TokenDecoder Read(JsonSection? section)
    {
        var steps = new List<Func<List<string>, List<string>>>();
        bool present = section is { } s0 && s0.Element.ValueKind != JsonValueKind.Null;
        if (present) Add(section!.Value, steps);
        return new TokenDecoder(steps, present);
    }

    private static void Add(JsonSection s, List<Func<List<string>, List<string>>> steps)
    {
        switch (s.Type)
        {
            case "Sequence":
                foreach (var d in s.Items("decoders")) Add(d, steps);
                break;
            case "ByteLevel":
                steps.Add(tokens =>
                {
                    var bytes = new List<byte>();
                    foreach (var t in tokens) bytes.AddRange(ByteLevelAlphabet.TryDecode(t) ?? Encoding.UTF8.GetBytes(t));
                    return [Encoding.UTF8.GetString(bytes.ToArray())];
                });
                break;
            case "Replace":
            {
                var pattern = s.Pattern("pattern");
                var content = (s.String("content") ?? throw s.Fail("has no \"content\"")).Replace("$", "$$", StringComparison.Ordinal);
                steps.Add(tokens => tokens.Select(t => pattern.Replace(t, content)).ToList());
                break;
            }
            case "Fuse":
                steps.Add(tokens => [string.Concat(tokens)]);
                break;
            case "Strip":
            {
                var content = s.String("content") is { Length: 1 } c ? c[0] : throw s.Fail("has no one-character \"content\"");
                int start = s.Int("start", 0), stop = s.Int("stop", 0);
                steps.Add(tokens => tokens.Select(t =>
                {
                    int a = 0, b = t.Length;
                    while (a < start && a < b && t[a] == content) a++;
                    int removed = 0;
                    while (removed < stop && b > a && t[b - 1] == content) { b--; removed++; }
                    return t[a..b];
                }).ToList());
                break;
            }
            case "ByteFallback":
                steps.Add(ByteFallback);
                break;
            case "Metaspace":
            {
                var replacement = s.String("replacement") ?? "\u2581";
                var scheme = s.String("prepend_scheme") ?? (s.Bool("add_prefix_space", true) ? "always" : "never");
                steps.Add(tokens => tokens.Select((t, i) =>
                {
                    var r = t.Replace(replacement, " ", StringComparison.Ordinal);
                    return i == 0 && scheme != "never" && r.StartsWith(' ') ? r[1..] : r;
                }).ToList());
                break;
            }
            default:
                throw s.Unsupported("decoder", "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence");
        }
    }

    private static readonly Regex BytePiece = new("^<0x([0-9A-F]{2})>$", RegexOptions.CultureInvariant);

    /// <summary><c>&lt;0xNN&gt;</c> runs become the text they encode, or one U+FFFD per byte when not valid UTF-8.</summary>
    private static List<string> ByteFallback(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        void Flush()
        {
            if (pending.Count == 0) return;
            try { result.Add(new UTF8Encoding(false, true).GetString(pending.ToArray())); }
            catch (DecoderFallbackException) { result.AddRange(Enumerable.Repeat("\uFFFD", pending.Count)); }
            pending.Clear();
        }
        foreach (var t in tokens)
        {
            if (t.Length == 6 && BytePiece.Match(t) is { Success: true } m) pending.Add(Convert.ToByte(m.Groups[1].Value, 16));
            else
            {
                Flush();
                result.Add(t);
            }
        }
        Flush();
        return result;
    }
}
