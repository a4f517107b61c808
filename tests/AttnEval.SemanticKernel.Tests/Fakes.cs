using AttnEval.Abstractions;
using Microsoft.Extensions.AI;
using NSubstitute;

namespace AttnEval.SemanticKernel.Tests;

/// <summary>NSubstitute fakes shared by the tests.</summary>
internal static class Fakes
{
    /// <summary>An inner chat client that answers <paramref name="answer"/>, with <paramref name="messageProps"/> on the message.</summary>
    public static IChatClient Client(string answer, AdditionalPropertiesDictionary? messageProps = null, AdditionalPropertiesDictionary? responseProps = null)
    {
        var client = Substitute.For<IChatClient>();
        client.GetResponseAsync(Arg.Any<IEnumerable<ChatMessage>>(), Arg.Any<ChatOptions?>(), Arg.Any<CancellationToken>())
            .Returns(_ => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, answer) { AdditionalProperties = Copy(messageProps) })
            {
                AdditionalProperties = Copy(responseProps),
            }));
        client.GetStreamingResponseAsync(Arg.Any<IEnumerable<ChatMessage>>(), Arg.Any<ChatOptions?>(), Arg.Any<CancellationToken>())
            .Returns(_ => Stream(answer, messageProps));
        client.GetService(typeof(ChatClientMetadata), Arg.Any<object?>()).Returns(new ChatClientMetadata("fake", null, "fake-model"));
        return client;
    }

    private static AdditionalPropertiesDictionary? Copy(AdditionalPropertiesDictionary? d) => d is null ? null : new AdditionalPropertiesDictionary(d);

    private static async IAsyncEnumerable<ChatResponseUpdate> Stream(string answer, AdditionalPropertiesDictionary? props)
    {
        await Task.Yield();
        var words = answer.Split(' ');
        for (int i = 0; i < words.Length; i++)
            yield return new ChatResponseUpdate(ChatRole.Assistant, (i == 0 ? "" : " ") + words[i])
            {
                MessageId = "m1",
                AdditionalProperties = i == words.Length - 1 ? Copy(props) : null,
            };
    }

    /// <summary>A scorer that always returns <paramref name="score"/>.</summary>
    public static IConfidenceScorer Scorer(ConfidenceScore? score)
    {
        var s = Substitute.For<IConfidenceScorer>();
        s.ScoreAsync(Arg.Any<ConfidenceScoringContext>(), Arg.Any<CancellationToken>()).Returns(_ => ValueTask.FromResult(score));
        return s;
    }

    /// <summary>A scorer that throws.</summary>
    public static IConfidenceScorer ThrowingScorer()
    {
        var s = Substitute.For<IConfidenceScorer>();
        s.ScoreAsync(Arg.Any<ConfidenceScoringContext>(), Arg.Any<CancellationToken>())
            .Returns<ValueTask<ConfidenceScore?>>(_ => throw new InvalidOperationException("scorer exploded"));
        return s;
    }

    public static ChatMessage[] Question(string q = "What is 2+3?") => [new(ChatRole.User, q)];

    /// <summary>A character tokenizer: id = char code + 10; BOS 1, EOS 2.</summary>
    public static ITokenizer CharTokenizer()
    {
        var t = Substitute.For<ITokenizer>();
        t.BosId.Returns(1);
        t.EosId.Returns(2);
        t.StopIds.Returns([2]);
        t.VocabSize.Returns(300);
        t.Encode(Arg.Any<string>(), Arg.Any<bool>()).Returns(ci =>
        {
            var ids = ((string)ci[0]).Select(c => (int)c + 10).ToList();
            if ((bool)ci[1]) ids.Insert(0, 1);
            return ids;
        });
        t.Decode(Arg.Any<IEnumerable<int>>()).Returns(ci => string.Concat(((IEnumerable<int>)ci[0]).Where(i => i >= 10).Select(i => (char)(i - 10))));
        t.TokenText(Arg.Any<int>()).Returns(ci => ((int)ci[0]) >= 10 ? ((char)((int)ci[0] - 10)).ToString() : "");
        return t;
    }

    /// <summary>A model whose Generate answers <paramref name="answer"/> with the given per-token log-probabilities.</summary>
    public static ILanguageModel Model(string answer, float[] logProbs, ITokenizer? tokenizer = null)
    {
        var tok = tokenizer ?? CharTokenizer();
        var m = Substitute.For<ILanguageModel>();
        m.Tokenizer.Returns(tok);
        m.Info.Returns(new ModelInfo("llama", 2, 2, 2, 8, 300, 512, "float32", "cpu") { Name = "tiny" });
        m.Generate(Arg.Any<GenerationRequest>(), Arg.Any<CancellationToken>()).Returns(ci =>
        {
            var req = (GenerationRequest)ci[0];
            var ids = tok.Encode(answer);
            var scores = new TokenScores(ids, logProbs, logProbs.Select(l => -l * 2).ToArray());
            return new GenerationResult(req.PromptTokens, [new GeneratedSequence(scores, answer, FinishReason.StopToken)]);
        });
        return m;
    }
}

/// <summary>An OpenAI SDK look-alike log-probability item (the scorer reads its <c>LogProbability</c> property by name).</summary>
public sealed record FakeOpenAiTokenLogProb(string Token, float LogProbability);
