using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AttnEval.ModelFiles.Tokenization.HuggingFace;

/// <summary>One piece of a text segment during pre-tokenization.</summary>
/// <param name="Text">The piece (after any byte-level or metaspace mapping so far).</param>
/// <param name="AtTextStart">True when the piece starts at offset 0 of the whole input (Metaspace's <c>first</c> scheme).</param>
internal readonly record struct Piece(string Text, bool AtTextStart);

/// <summary>The <c>pre_tokenizer</c> of <c>tokenizer.json</c>: splits a normalized segment into the words the model
/// encodes one by one, following the Hugging Face <c>tokenizers</c> semantics. Types read: <c>Split</c> (all five
/// delimiter behaviours, <c>invert</c>), <c>ByteLevel</c> (<c>add_prefix_space</c>, <c>use_regex</c> with GPT-2's
/// pattern), <c>Metaspace</c> (<c>prepend_scheme</c> always/first/never, <c>split</c>), <c>Digits</c>,
/// <c>Whitespace</c>, <c>WhitespaceSplit</c>, <c>Punctuation</c>, <c>Sequence</c>.</summary>
internal sealed class PreTokenizer
{
    /// <summary>GPT-2's split pattern, used by <c>ByteLevel</c> when <c>use_regex</c> is true.</summary>
    private static readonly Regex Gpt2Pattern = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant | RegexOptions.Compiled);

    private readonly IReadOnlyList<Func<Piece, IEnumerable<Piece>>> _steps;

    private PreTokenizer(IReadOnlyList<Func<Piece, IEnumerable<Piece>>> steps, bool byteLevel)
    {
        _steps = steps;
        ByteLevel = byteLevel;
    }

    /// <summary>True when a <c>ByteLevel</c> step maps each UTF-8 byte to a printable character (GPT-2's table).</summary>
    public bool ByteLevel { get; }

    /// <summary>Splits one normalized segment.</summary>
    public List<Piece> Apply(Piece segment)
    {
        var pieces = new List<Piece> { segment };
        foreach (var step in _steps)
        {
            var next = new List<Piece>(pieces.Count * 2);
            foreach (var p in pieces) next.AddRange(step(p));
            pieces = next;
        }
        pieces.RemoveAll(p => p.Text.Length == 0);
        return pieces;
    }

    public static PreTokenizer Read(JsonSection? section)
    {
        var steps = new List<Func<Piece, IEnumerable<Piece>>>();
        bool byteLevel = false;
        if (section is { } s && s.Element.ValueKind != JsonValueKind.Null) Add(s, steps, ref byteLevel);
        return new PreTokenizer(steps, byteLevel);
    }

    private static void Add(JsonSection s, List<Func<Piece, IEnumerable<Piece>>> steps, ref bool byteLevel)
    {
        switch (s.Type)
        {
            case "Sequence":
                foreach (var p in s.Items("pretokenizers")) Add(p, steps, ref byteLevel);
                break;
            case "Split":
            {
                var regex = s.Pattern("pattern");
                var behavior = ReadBehavior(s, s.String("behavior") ?? "Isolated");
                bool invert = s.Bool("invert", false);
                steps.Add(p => Split(p, regex, behavior, invert));
                break;
            }
            case "ByteLevel":
            {
                bool prefix = s.Bool("add_prefix_space", true), useRegex = s.Bool("use_regex", true);
                byteLevel = true;
                steps.Add(p =>
                {
                    var piece = prefix && !p.Text.StartsWith(' ') ? p with { Text = " " + p.Text } : p;
                    var parts = useRegex ? Split(piece, Gpt2Pattern, SplitBehavior.Isolated, false) : [piece];
                    return parts.Select(x => x with { Text = ByteLevelAlphabet.Encode(x.Text) });
                });
                break;
            }
            case "Metaspace":
            {
                var replacement = s.String("replacement") ?? "\u2581";
                var scheme = s.String("prepend_scheme") ?? (s.Bool("add_prefix_space", true) ? "always" : "never");
                if (scheme is not ("always" or "first" or "never")) throw s.Fail($"has prepend_scheme '{scheme}', expected always, first or never");
                bool split = s.Bool("split", true);
                var delimiter = new Regex(Regex.Escape(replacement), RegexOptions.CultureInvariant);
                steps.Add(p =>
                {
                    var t = p.Text.Replace(" ", replacement, StringComparison.Ordinal);
                    if (!t.StartsWith(replacement, StringComparison.Ordinal) && (scheme == "always" || (scheme == "first" && p.AtTextStart))) t = replacement + t;
                    var piece = p with { Text = t };
                    return split ? Split(piece, delimiter, SplitBehavior.MergedWithNext, false) : [piece];
                });
                break;
            }
            case "Digits":
            {
                var digits = new Regex(s.Bool("individual_digits", false) ? @"\p{Nd}" : @"\p{Nd}+", RegexOptions.CultureInvariant);
                steps.Add(p => Split(p, digits, SplitBehavior.Isolated, false));
                break;
            }
            case "Whitespace":
            {
                var words = new Regex(@"\w+|[^\w\s]+", RegexOptions.CultureInvariant);
                steps.Add(p => Split(p, words, SplitBehavior.Removed, true));
                break;
            }
            case "WhitespaceSplit":
            {
                var ws = new Regex(@"\s+", RegexOptions.CultureInvariant);
                steps.Add(p => Split(p, ws, SplitBehavior.Removed, false));
                break;
            }
            case "Punctuation":
            {
                var punct = new Regex(@"[\p{P}]", RegexOptions.CultureInvariant);
                var behavior = ReadBehavior(s, s.String("behavior") ?? "Isolated");
                steps.Add(p => Split(p, punct, behavior, false));
                break;
            }
            default:
                throw s.Unsupported("pre-tokenizer", "Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation and Sequence");
        }
    }

    private enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

    private static SplitBehavior ReadBehavior(JsonSection s, string name) => name switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw s.Fail($"has behavior '{name}', expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous"),
    };

    /// <summary>Hugging Face's <c>NormalizedString::split</c>: the text is cut into alternating matches (non-empty regex
    /// matches, or what lies between them when <paramref name="invert"/>) and the rest, then grouped by behaviour.</summary>
    private static List<Piece> Split(Piece piece, Regex regex, SplitBehavior behavior, bool invert)
    {
        var text = piece.Text;
        var (searched, map) = AstralStandIns.Substitute(text);
        var spans = new List<(int Start, int End, bool Delimiter)>();
        int last = 0;
        for (var m = regex.Match(searched); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            int start = map?[m.Index] ?? m.Index, end = map?[m.Index + m.Length] ?? m.Index + m.Length;
            if (start > last) spans.Add((last, start, invert));
            spans.Add((start, end, !invert));
            last = end;
        }
        if (last < text.Length) spans.Add((last, text.Length, invert));

        var groups = new List<(int Start, int End)>();
        switch (behavior)
        {
            case SplitBehavior.Removed:
                groups.AddRange(spans.Where(x => !x.Delimiter).Select(x => (x.Start, x.End)));
                break;
            case SplitBehavior.Isolated:
                groups.AddRange(spans.Select(x => (x.Start, x.End)));
                break;
            case SplitBehavior.MergedWithPrevious:
            {
                bool previous = false;
                foreach (var (start, end, delim) in spans)
                {
                    if (delim && !previous && groups.Count > 0) groups[^1] = (groups[^1].Start, end);
                    else groups.Add((start, end));
                    previous = delim;
                }
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                bool previous = false;
                for (int i = spans.Count - 1; i >= 0; i--)
                {
                    var (start, end, delim) = spans[i];
                    if (delim && !previous && groups.Count > 0) groups[^1] = (start, groups[^1].End);
                    else groups.Add((start, end));
                    previous = delim;
                }
                groups.Reverse();
                break;
            }
            case SplitBehavior.Contiguous:
            {
                bool previous = false;
                foreach (var (start, end, delim) in spans)
                {
                    if (delim == previous && groups.Count > 0) groups[^1] = (groups[^1].Start, end);
                    else groups.Add((start, end));
                    previous = delim;
                }
                break;
            }
        }
        return groups.Select(g => new Piece(text[g.Start..g.End], piece.AtTextStart && g.Start == 0)).ToList();
    }
}

/// <summary>GPT-2's reversible map from the 256 byte values to printable characters (<c>bytes_to_unicode</c>): printable
/// Latin-1 bytes map to themselves, the other 68 to U+0100 onwards in byte order.</summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] Build()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = (b is >= 33 and <= 126) || (b is >= 161 and <= 172) || (b is >= 174 and <= 255) ? (char)b : (char)next++;
        return map;
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, each as its character.</summary>
    public static string Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The bytes of a byte-level token, or null when a character is not in the table (then the token's own UTF-8 is used).</summary>
    public static byte[]? TryDecode(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!CharToByte.TryGetValue(token[i], out var b)) return null;
            bytes[i] = b;
        }
        return bytes;
    }
}

/// <summary>.NET regexes see a character outside the Basic Multilingual Plane as two surrogates (category Cs), so
/// <c>\p{L}</c> or <c>\p{S}</c> never match an emoji or a mathematical letter, while the Rust regexes of Hugging Face's
/// <c>tokenizers</c> match whole code points. Before a split pattern runs, each such character is replaced by one BMP
/// character of the same Unicode category (outside the CJK and kana blocks that patterns name literally), and match
/// positions are mapped back.</summary>
internal static class AstralStandIns
{
    private static readonly Dictionary<System.Globalization.UnicodeCategory, char> StandIn = Build();

    private static Dictionary<System.Globalization.UnicodeCategory, char> Build()
    {
        var map = new Dictionary<System.Globalization.UnicodeCategory, char>();
        foreach (var (from, to) in new[] { (0x100, 0x3000), (0xA000, 0xD800), (0xE000, 0x10000) })
            for (int c = from; c < to; c++)
                map.TryAdd(System.Globalization.CharUnicodeInfo.GetUnicodeCategory((char)c), (char)c);
        return map;
    }

    /// <summary>The text with stand-ins, and for each of its positions (and its end) the position in
    /// <paramref name="text"/>; the map is null when the text has no surrogate pair.</summary>
    public static (string Text, int[]? Map) Substitute(string text)
    {
        int first = -1;
        for (int i = 0; i < text.Length - 1; i++)
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1])) { first = i; break; }
        if (first < 0) return (text, null);
        var sb = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var cat = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(text, i);
                sb.Append(StandIn.TryGetValue(cat, out var c) ? c : '\uFFFD');
                i++;
            }
            else sb.Append(text[i]);
        }
        map.Add(text.Length);
        return (sb.ToString(), map.ToArray());
    }
}
