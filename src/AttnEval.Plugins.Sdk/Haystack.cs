using System.Globalization;
using System.Text;
using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.Plugins.Sdk;

/// <summary>One needle of the protocol (Retrieval_Head <c>needles.jsonl</c> record): the inserted sentence, the question, and
/// the answer span used to locate the needle and judge success.</summary>
/// <param name="Text">Sentence inserted into the haystack (<c>needle</c>).</param>
/// <param name="Question">Question asked after the context (<c>question</c>).</param>
/// <param name="RealNeedle">Answer span (<c>real_needle</c>): located in the prompt and compared with the response.</param>
public sealed record Needle(string Text, string Question, string RealNeedle)
{
    /// <summary>Reads a JSONL file of <c>{needle, question, real_needle}</c> records.</summary>
    /// <exception cref="InvalidDataException">A line is not such a record (the message names file:line and the missing field).</exception>
    public static IReadOnlyList<Needle> ReadFile(string path)
    {
        var list = Jsonl.Read(path, (o, lineNo) =>
        {
            string Field(string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()! : throw new InvalidDataException($"{path}:{lineNo}: missing string field '{name}' (expected needle, question, real_needle)");
            return new Needle(Field("needle"), Field("question"), Field("real_needle"));
        }, (lineNo, e) => $"{path}:{lineNo}: not a JSON record ({e.Message})");
        if (list.Count == 0) throw new InvalidDataException($"{path}: no needles (expected JSONL records {{needle, question, real_needle}})");
        return list;
    }
}

/// <summary>
/// Builds needle-in-a-haystack contexts as the reference detection script does (specs/head-methods.md §1.2): the haystack
/// files concatenated (repeating) until they hold enough words, tokenised and cut to the context length, a budget of
/// <c>Lctx − buffer</c>, the context cut to make room for the needle, and the needle inserted after the nearest period at or
/// before <c>floor(|ctx| · depth / 100)</c> (appended at depth 100).
/// </summary>
public sealed class Haystack
{
    private readonly ITokenizer _tokenizer;
    private readonly IReadOnlyList<int> _tokens;
    private readonly HashSet<int> _periods;

    /// <summary>Reads every <c>*.txt</c> of <paramref name="directory"/> (ordinal file-name order), repeating them until the
    /// whitespace word count reaches <paramref name="maxContextLength"/>, and tokenises the text once.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">The folder has no non-empty <c>.txt</c> file.</exception>
    public Haystack(ITokenizer tokenizer, string directory, int maxContextLength)
    {
        _tokenizer = tokenizer;
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"haystack folder {directory} does not exist; expected a folder of .txt files");
        var files = Directory.GetFiles(directory, "*.txt").Order(StringComparer.Ordinal).Select(File.ReadAllText).Where(t => t.Length > 0).ToList();
        if (files.Count == 0) throw new InvalidDataException($"haystack folder {directory} has no non-empty .txt file");
        var sb = new StringBuilder();
        int words = 0;
        while (words < maxContextLength)
            foreach (var t in files)
            {
                sb.Append(t);
                words += t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
                if (words >= maxContextLength) break;
            }
        _tokens = tokenizer.Encode(sb.ToString());
        _periods = PeriodTokens(tokenizer);
    }

    /// <summary>Ids whose token text, without surrounding spaces (and SentencePiece '▁'), is "." (LLaMA: 29889 and 869).</summary>
    public static HashSet<int> PeriodTokens(ITokenizer tokenizer)
    {
        var set = new HashSet<int>();
        for (int i = 0; i < tokenizer.VocabSize; i++)
            if (tokenizer.TokenText(i).Trim().Trim('\u2581').Trim() == ".") set.Add(i);
        return set;
    }

    /// <summary>The context text with the needle inserted.</summary>
    /// <param name="needle">The needle sentence.</param>
    /// <param name="contextLength">Lctx in tokens.</param>
    /// <param name="depthPercent">Insertion depth in [0, 100].</param>
    /// <param name="bufferTokens">Tokens kept free for the question and answer (reference: 200).</param>
    /// <exception cref="ArgumentException">The budget cannot hold the needle.</exception>
    public string Build(string needle, int contextLength, double depthPercent, int bufferTokens)
    {
        var needleTokens = _tokenizer.Encode(needle);
        var ctx = _tokens.Take(contextLength).ToList();
        int budget = contextLength - bufferTokens;
        if (budget < needleTokens.Count) throw new ArgumentException($"context length {contextLength} − buffer {bufferTokens} leaves {budget} tokens, fewer than the needle's {needleTokens.Count}");
        if (ctx.Count + needleTokens.Count > budget) ctx = ctx.Take(budget - needleTokens.Count).ToList();
        List<int> result;
        if (depthPercent >= 100) result = [.. ctx, .. needleTokens];
        else
        {
            int ins = (int)Math.Floor(ctx.Count * depthPercent / 100.0);
            while (ins > 0 && !_periods.Contains(ctx[ins - 1])) ins--;
            result = [.. ctx.Take(ins), .. needleTokens, .. ctx.Skip(ins)];
        }
        return _tokenizer.Decode(result);
    }

    /// <summary><c>round(linspace(min, max, n))</c> (n = 1 gives min).</summary>
    public static IReadOnlyList<int> Linspace(double min, double max, int n) =>
        Enumerable.Range(0, n).Select(i => (int)Math.Round(n == 1 ? min : min + (max - min) * i / (n - 1), MidpointRounding.ToEven)).ToList();

    /// <summary>Depth percents: linear <c>round(linspace(0, 100, n))</c>, or sigmoid spacing (logistic with L = 100, x0 = 50,
    /// k = 0.1 applied to the linear points, rounded to 3 decimals).</summary>
    public static IReadOnlyList<double> Depths(int n, string spacing) => spacing switch
    {
        "sigmoid" => Linspace(0, 100, n).Select(x => Math.Round(100 / (1 + Math.Exp(-0.1 * (x - 50))), 3)).ToList(),
        _ => Linspace(0, 100, n).Select(x => (double)x).ToList(),
    };

    /// <summary>The needle span: the first prompt index i with |set(prompt[i..i+n]) ∩ set(K)| / |set(K)| &gt; <paramref name="overlap"/>,
    /// where K = <paramref name="needleTokens"/> and n = |K|; returns (i, i + n), or null when there is none.</summary>
    public static (int Start, int End)? LocateSpan(IReadOnlyList<int> prompt, IReadOnlyList<int> needleTokens, double overlap = 0.9)
    {
        int n = needleTokens.Count;
        if (n == 0) return null;
        var k = needleTokens.ToHashSet();
        for (int i = 0; i + n <= prompt.Count; i++)
        {
            int hit = 0;
            var seen = new HashSet<int>();
            for (int j = i; j < i + n; j++) if (k.Contains(prompt[j]) && seen.Add(prompt[j])) hit++;
            if ((double)hit / k.Count > overlap) return (i, i + n);
        }
        return null;
    }

    /// <summary>Formats a depth for record ids.</summary>
    internal static string Fmt(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);
}
