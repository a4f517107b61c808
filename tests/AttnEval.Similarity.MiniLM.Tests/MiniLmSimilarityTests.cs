using AttnEval.Similarity.MiniLM;

namespace AttnEval.Similarity.MiniLM.Tests;

public sealed class MiniLmSimilarityTests : IDisposable
{
    private readonly MiniLmSimilarity _sim = new();

    public void Dispose() => _sim.Dispose();

    [Fact]
    public void Cosine_matches_hand_computed_values()
    {
        MiniLmSimilarity.Cosine([1f, 0f], [0f, 1f]).Should().Be(0);
        MiniLmSimilarity.Cosine([1f, 2f, 2f], [2f, 4f, 4f]).Should().BeApproximately(1, 1e-12);
        // (1,2,2)·(2,0,1) = 4; |x| = 3, |y| = √5 → 4 / (3√5)
        MiniLmSimilarity.Cosine([1f, 2f, 2f], [2f, 0f, 1f]).Should().BeApproximately(4 / (3 * Math.Sqrt(5)), 1e-12);
        MiniLmSimilarity.Cosine([0f, 0f], [1f, 1f]).Should().Be(0);
        FluentActions.Invoking(() => MiniLmSimilarity.Cosine([1f], [1f, 2f])).Should().Throw<ArgumentException>().WithMessage("*different lengths (1 and 2)*");
    }

    [Fact]
    public void Embeddings_are_384_dimensional_unit_vectors_and_deterministic()
    {
        var e = _sim.Embed(["The cat sits on the mat.", "Paris is the capital of France."]);
        e.Should().HaveCount(2);
        e[0].Should().HaveCount(384);
        Math.Sqrt(e[0].Sum(x => (double)x * x)).Should().BeApproximately(1, 1e-4);
        using var other = new MiniLmSimilarity();
        other.Embed(["The cat sits on the mat."])[0].Should().Equal(e[0]);
    }

    [Fact]
    public void Paraphrases_score_higher_than_unrelated_sentences()
    {
        _sim.Name.Should().Be("all-MiniLM-L6-v2");
        _sim.Similarity("same text", "same text").Should().Be(1);
        var para = _sim.Similarity("The answer is 42.", "It is 42.");
        var related = _sim.Similarity("Paris is the capital of France.", "The capital city of France is Paris.");
        var unrelated = _sim.Similarity("Paris is the capital of France.", "My dog likes to chase tennis balls.");
        related.Should().BeGreaterThan(0.8);
        unrelated.Should().BeLessThan(0.3);
        para.Should().BeGreaterThan(unrelated);
        _sim.Similarity("Paris is the capital of France.", "My dog likes to chase tennis balls.").Should().Be(unrelated);
        _sim.Similarity("My dog likes to chase tennis balls.", "Paris is the capital of France.").Should().BeApproximately(unrelated, 1e-9);
    }

    [Fact]
    public void Disposed_instance_refuses_calls()
    {
        var s = new MiniLmSimilarity();
        s.Dispose();
        FluentActions.Invoking(() => s.Similarity("a", "b")).Should().Throw<ObjectDisposedException>();
    }
}
