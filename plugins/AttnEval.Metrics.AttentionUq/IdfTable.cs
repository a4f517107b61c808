using System.Globalization;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// Focus's token IDF weights (specs/uq-attention-methods.md §4.4). LM-Polygraph computes
/// <c>idf(v) = ln(N / (df(v) + 1))</c> over a corpus tokenised with the model's tokenizer and caches a pickle; here the
/// table is a plain text file prepared offline, or uniform (every weight 1) when none is given.
/// </summary>
/// <remarks>
/// File format (UTF-8): one entry per line, <c>&lt;token id&gt; &lt;idf&gt;</c> separated by spaces or a tab; the optional
/// line <c>default &lt;idf&gt;</c> sets the weight of ids not listed (LM-Polygraph gives unseen tokens <c>ln N</c>);
/// without it, unlisted ids keep weight 1, as LM-Polygraph leaves logits beyond its table unweighted. Blank lines and
/// lines starting with <c>#</c> are ignored. Ids are ≥ 0 and listed once; values are finite (negative values are allowed:
/// LM-Polygraph gives a token present in every document <c>ln(N/(N+1)) &lt; 0</c>).
/// </remarks>
internal sealed class IdfTable
{
    private readonly Dictionary<int, double> _weights;

    private IdfTable(Dictionary<int, double> weights, double fallback, bool uniform)
    {
        _weights = weights;
        Default = fallback;
        IsUniform = uniform;
    }

    /// <summary>Every weight 1 (the default when no file is given): Focus's reweighting step then only renormalises.</summary>
    public static IdfTable Uniform { get; } = new(new Dictionary<int, double>(), 1.0, true);

    /// <summary>True for <see cref="Uniform"/>.</summary>
    public bool IsUniform { get; }

    /// <summary>Weight of ids not listed.</summary>
    public double Default { get; }

    /// <summary>Number of listed ids.</summary>
    public int Count => _weights.Count;

    /// <summary>idf(v).</summary>
    public double this[int token] => _weights.TryGetValue(token, out var w) ? w : Default;

    /// <summary>Parses the text format described on the type.</summary>
    /// <param name="lines">The file's lines.</param>
    /// <exception cref="InvalidDataException">A malformed line (the message names its 1-based number), a duplicate id, or no entry at all.</exception>
    public static IdfTable Parse(IEnumerable<string> lines)
    {
        var weights = new Dictionary<int, double>();
        double fallback = 1.0;
        bool sawDefault = false;
        int number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2) throw new InvalidDataException($"line {number}: expected '<token id> <idf>' or 'default <idf>', got '{Shorten(line)}'");
            if (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                throw new InvalidDataException($"line {number}: '{parts[1]}' is not a finite number");
            if (parts[0] == "default")
            {
                if (sawDefault) throw new InvalidDataException($"line {number}: a second 'default' line");
                sawDefault = true;
                fallback = value;
                continue;
            }
            if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                throw new InvalidDataException($"line {number}: '{parts[0]}' is not a token id (a whole number ≥ 0) or 'default'");
            if (!weights.TryAdd(id, value)) throw new InvalidDataException($"line {number}: token id {id} is listed twice");
        }
        if (weights.Count == 0 && !sawDefault) throw new InvalidDataException("no entry: expected lines '<token id> <idf>'");
        return new IdfTable(weights, fallback, false);
    }

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
