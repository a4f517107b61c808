using AttnEval.Abstractions;
using AttnEval.Core.Recipes;
using Microsoft.Extensions.AI;
using NSubstitute;
using NSubstitute.ExceptionExtensions;

namespace AttnEval.SemanticKernel.Tests;

public class AttnEvalChatClientTests
{
    private static ISampleEstimator Estimator(double u, double? c, MetricNeeds needs = MetricNeeds.TokenScores)
    {
        var e = Substitute.For<ISampleEstimator>();
        e.Needs.Returns(needs);
        e.Estimate(Arg.Any<EstimationContext>()).Returns(new SampleEstimate(u, c));
        return e;
    }

    [Fact]
    public async Task Answer_logprobs_and_white_box_score_are_on_response_and_message()
    {
        var model = Fakes.Model("5", [-0.25f]);
        var client = new AttnEvalChatClient(model, new AttnEvalChatClientOptions { Estimator = new LocalEstimator("msp", Estimator(0.25, 0.7788)), ChatFormat = ChatFormat.None });
        var r = await client.GetResponseAsync(Fakes.Question());

        r.Text.Should().Be("5");
        r.ModelId.Should().Be("tiny");
        r.FinishReason.Should().Be(ChatFinishReason.Stop);
        r.Usage!.InputTokenCount.Should().Be(1 + "What is 2+3?".Length);
        r.Usage.OutputTokenCount.Should().Be(1);
        foreach (var props in new[] { r.AdditionalProperties!, r.Messages[^1].AdditionalProperties! })
        {
            props[AttnEvalMetadata.Confidence].Should().Be(0.7788);
            props[AttnEvalMetadata.Uncertainty].Should().Be(0.25);
            props[AttnEvalMetadata.Source].Should().Be("WhiteBox");
            var lps = (IReadOnlyList<TokenLogProbability>)props[AttnEvalMetadata.LogProbs]!;
            lps.Should().ContainSingle().Which.Should().BeEquivalentTo(new TokenLogProbability('5' + 10, "5", -0.25f, 0.5f, null));
        }
    }

    [Fact]
    public async Task Chat_options_reach_the_model_and_the_prompt_is_chat_formatted()
    {
        var model = Fakes.Model("ok", [-0.1f, -0.1f]);
        var client = new AttnEvalChatClient(model, new AttnEvalChatClientOptions { ChatFormat = ChatFormat.ChatMl, MaxNewTokens = 99 });
        await client.GetResponseAsync([new(ChatRole.System, "Be brief."), new(ChatRole.User, "Hi")],
            new ChatOptions { MaxOutputTokens = 7, Temperature = 0.5f, TopP = 0.9f, TopK = 4, Seed = 11, StopSequences = ["\n\n"] });

        model.Tokenizer.Received().Encode("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", true);
        model.Received(1).Generate(Arg.Is<GenerationRequest>(g =>
            g.MaxNewTokens == 7 && g.Sampling.Temperature == 0.5f && Math.Abs(g.Sampling.TopP - 0.9) < 1e-6 && g.Sampling.TopK == 4 && g.Sampling.Seed == 11
            && g.StopStrings.SequenceEqual(new[] { "<|im_end|>", "\n\n" })), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Defaults_are_greedy_with_the_configured_max_new_tokens()
    {
        var model = Fakes.Model("ok", [-0.1f, -0.1f]);
        await new AttnEvalChatClient(model, new AttnEvalChatClientOptions { ChatFormat = ChatFormat.None, MaxNewTokens = 99 }).GetResponseAsync(Fakes.Question());
        model.Received(1).Generate(Arg.Is<GenerationRequest>(g => g.MaxNewTokens == 99 && g.Sampling.IsGreedy && g.StopStrings.Count == 0), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task An_estimator_that_throws_does_not_lose_the_answer()
    {
        var e = Substitute.For<ISampleEstimator>();
        e.Needs.Returns(MetricNeeds.TokenScores);
        e.Estimate(Arg.Any<EstimationContext>()).Throws(new InvalidOperationException("no tokens"));
        var r = await new AttnEvalChatClient(Fakes.Model("5", [-0.2f]), new AttnEvalChatClientOptions { Estimator = new LocalEstimator("msp", e), ChatFormat = ChatFormat.None })
            .GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("5");
        ((string)r.AdditionalProperties![AttnEvalMetadata.Error]!).Should().Contain("estimator 'msp' failed").And.Contain("no tokens");
        r.AdditionalProperties.ContainsKey(AttnEvalMetadata.Confidence).Should().BeFalse();
        r.AdditionalProperties.ContainsKey(AttnEvalMetadata.LogProbs).Should().BeTrue();
    }

    [Fact]
    public async Task An_estimator_returning_a_confidence_outside_0_1_is_reported()
    {
        var r = await new AttnEvalChatClient(Fakes.Model("5", [-0.2f]), new AttnEvalChatClientOptions { Estimator = new LocalEstimator("bad", Estimator(1, 1.5)), ChatFormat = ChatFormat.None })
            .GetResponseAsync(Fakes.Question());
        ((string)r.AdditionalProperties![AttnEvalMetadata.Error]!).Should().Contain("confidence outside [0, 1] (1.5)");
    }

    [Fact]
    public async Task Attention_estimators_get_their_reducer_and_sampled_answers()
    {
        var reducer = Substitute.For<IAttentionRowReducer>();
        var e = Estimator(0.3, 0.6, MetricNeeds.TokenScores | MetricNeeds.AttentionRows | MetricNeeds.SampledAnswers);
        e.CreateReducer(Arg.Any<ModelInfo>(), Arg.Any<int>()).Returns(reducer);
        var model = Fakes.Model("5", [-0.2f]);
        await new AttnEvalChatClient(model, new AttnEvalChatClientOptions { Estimator = new LocalEstimator("uqac", e) { SampledAnswers = 3 }, ChatFormat = ChatFormat.None })
            .GetResponseAsync(Fakes.Question());
        e.Received(1).CreateReducer(Arg.Any<ModelInfo>(), 1 + "What is 2+3?".Length);
        model.Received(1).Generate(Arg.Is<GenerationRequest>(g => g.Captures.Count == 1 && g.Captures[0] == reducer && g.NumSequences == 1), Arg.Any<CancellationToken>());
        model.Received(1).Generate(Arg.Is<GenerationRequest>(g => g.NumSequences == 3 && !g.Sampling.IsGreedy), Arg.Any<CancellationToken>());
        e.Received(1).Estimate(Arg.Is<EstimationContext>(c => c.Reducer == reducer && c.Answer.Text == "5" && c.Sample.Input == "What is 2+3?"));
    }

    [Fact]
    public async Task White_box_scores_drive_the_gate_when_the_inner_client_is_AttnEvals()
    {
        var local = new AttnEvalChatClient(Fakes.Model("5", [-0.2f]), new AttnEvalChatClientOptions { Estimator = new LocalEstimator("msp", Estimator(0.2, 0.3)), ChatFormat = ChatFormat.None });
        var r = await local.AsBuilder().UseAttnEvalConfidence(o => { o.Policy = GatePolicy.Fallback; o.FallbackText = "?"; }).Build().GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("?");
        ((ConfidenceScore)r.AdditionalProperties![AttnEvalMetadata.Score]!).Source.Should().Be(ConfidenceSource.WhiteBox);
        r.AdditionalProperties[AttnEvalMetadata.OriginalAnswer].Should().Be("5");
    }

    [Fact]
    public async Task Streaming_yields_the_answer_with_its_metadata()
    {
        var local = new AttnEvalChatClient(Fakes.Model("12", [-0.1f, -0.3f]), new AttnEvalChatClientOptions { Estimator = new LocalEstimator("msp", Estimator(0.4, 0.67)), ChatFormat = ChatFormat.None });
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in local.GetStreamingResponseAsync(Fakes.Question())) updates.Add(u);
        var r = updates.ToChatResponse();
        r.Text.Should().Be("12");
        AttnEvalMetadata.Read(r, AttnEvalMetadata.Confidence).Should().Be(0.67);
        // Issue 14 item 13: as without streaming, on the response and on its last message.
        var joined = await local.GetStreamingResponseAsync(Fakes.Question()).ToChatResponseAsync();
        joined.AdditionalProperties![AttnEvalMetadata.Confidence].Should().Be(0.67);
        joined.Messages[^1].AdditionalProperties![AttnEvalMetadata.Confidence].Should().Be(0.67);
        var direct = await local.GetResponseAsync(Fakes.Question());
        direct.AdditionalProperties![AttnEvalMetadata.Confidence].Should().Be(0.67);
        direct.Messages[^1].AdditionalProperties![AttnEvalMetadata.Confidence].Should().Be(0.67);
    }

    [Fact]
    public async Task A_conversation_that_does_not_end_with_the_user_is_refused()
    {
        var client = new AttnEvalChatClient(Fakes.Model("5", [-0.2f]), new AttnEvalChatClientOptions { ChatFormat = ChatFormat.None });
        var act = () => client.GetResponseAsync([new(ChatRole.User, "a"), new(ChatRole.Assistant, "b")]);
        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*must end with a user message*'assistant'*");
    }

    [Fact]
    public void GetService_exposes_the_model_and_metadata()
    {
        var model = Fakes.Model("5", [-0.2f]);
        var client = new AttnEvalChatClient(model, new AttnEvalChatClientOptions { ChatFormat = ChatFormat.None });
        client.GetService<ILanguageModel>().Should().BeSameAs(model);
        client.GetService<ChatClientMetadata>()!.ProviderName.Should().Be("attneval");
        client.GetService<AttnEvalChatClient>().Should().BeSameAs(client);
    }
}

public class ProxyModelScorerTests
{
    [Fact]
    public async Task Re_scores_the_answer_by_teacher_forcing_on_the_proxy()
    {
        var tok = Fakes.CharTokenizer();
        var proxy = Substitute.For<ILanguageModel>();
        proxy.Tokenizer.Returns(tok);
        proxy.Info.Returns(new ModelInfo("llama", 1, 1, 1, 4, 300, 512, "float32", "cpu"));
        proxy.Score(Arg.Any<ScoreRequest>(), Arg.Any<CancellationToken>())
            .Returns(ci => { var r = (ScoreRequest)ci[0]; var n = r.Tokens.Count - r.From; return new TokenScores(r.Tokens.Skip(r.From).ToList(), Enumerable.Repeat(-0.5f, n).ToList(), Enumerable.Repeat(1f, n).ToList()); });
        var est = Substitute.For<ISampleEstimator>();
        est.Needs.Returns(MetricNeeds.TokenScores);
        est.Estimate(Arg.Any<EstimationContext>()).Returns(ci =>
        {
            var c = (EstimationContext)ci[0];
            var u = -c.Answer.Scores.LogProbs.Sum(x => (double)x);
            return new SampleEstimate(u, Math.Exp(-u));
        });
        var scorer = new ProxyModelConfidenceScorer(proxy, new LocalEstimator("msp", est), ChatFormat.None);

        var remote = Fakes.Client("4+1");
        var r = await remote.AsBuilder().UseAttnEvalConfidence(o => { o.Scorer = scorer; o.Threshold = 0.2; o.Policy = GatePolicy.Block; }).Build()
            .GetResponseAsync([new ChatMessage(ChatRole.User, "Q")]);

        var prompt = new[] { 1, 'Q' + 10 };
        proxy.Received(1).Score(Arg.Is<ScoreRequest>(s => s.From == 2 && s.Tokens.SequenceEqual(prompt.Concat("4+1".Select(ch => ch + 10)))), Arg.Any<CancellationToken>());
        var score = (ConfidenceScore)r.AdditionalProperties![AttnEvalMetadata.Score]!;
        score.Source.Should().Be(ConfidenceSource.ProxyModel);
        score.Uncertainty.Should().BeApproximately(1.5, 1e-9); // 3 tokens × 0.5 nats
        r.AdditionalProperties[AttnEvalMetadata.Gate].Should().Be("passed"); // e^-1.5 = 0.223 ≥ 0.2
    }
}

/// <summary>Issue 14 item 12: the proxy scores exactly the continuation's tokens of the joint encoding.</summary>
public class ProxyJoinTests
{
    // A SentencePiece-like tokenizer: Encode puts a dummy-prefix token 100 ("▁", no text) before the text, one token per
    // character (char + 10), except that "Q" directly followed by "4" merges into the single token 500 ("Q4").
    private static ITokenizer SpmLike()
    {
        var t = Substitute.For<ITokenizer>();
        t.BosId.Returns(1);
        t.EosId.Returns(2);
        t.StopIds.Returns([2]);
        t.VocabSize.Returns(600);
        t.Encode(Arg.Any<string>(), Arg.Any<bool>()).Returns(ci =>
        {
            var text = (string)ci[0];
            var ids = new List<int>();
            if ((bool)ci[1]) ids.Add(1);
            if (text.Length > 0) ids.Add(100);
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == 'Q' && i + 1 < text.Length && text[i + 1] == '4') { ids.Add(500); i++; }
                else ids.Add(text[i] + 10);
            }
            return ids;
        });
        t.Decode(Arg.Any<IEnumerable<int>>()).Returns(ci => string.Concat(((IEnumerable<int>)ci[0]).Select(i => i == 500 ? "Q4" : i >= 10 && i < 300 && i != 100 ? ((char)(i - 10)).ToString() : "")));
        t.TokenText(Arg.Any<int>()).Returns(ci => "");
        return t;
    }

    private static (ILanguageModel Proxy, ProxyModelConfidenceScorer Scorer) Setup()
    {
        var tok = SpmLike();
        var proxy = Substitute.For<ILanguageModel>();
        proxy.Tokenizer.Returns(tok);
        proxy.Info.Returns(new ModelInfo("llama", 1, 1, 1, 4, 600, 512, "float32", "cpu"));
        proxy.Score(Arg.Any<ScoreRequest>(), Arg.Any<CancellationToken>())
            .Returns(ci => { var r = (ScoreRequest)ci[0]; var n = r.Tokens.Count - r.From; return new TokenScores(r.Tokens.Skip(r.From).ToList(), Enumerable.Repeat(-0.5f, n).ToList(), Enumerable.Repeat(1f, n).ToList()); });
        var est = Substitute.For<ISampleEstimator>();
        est.Needs.Returns(MetricNeeds.TokenScores);
        est.Estimate(Arg.Any<EstimationContext>()).Returns(ci => new SampleEstimate(-((EstimationContext)ci[0]).Answer.Scores.LogProbs.Sum(x => (double)x)));
        return (proxy, new ProxyModelConfidenceScorer(proxy, new LocalEstimator("nll", est), ChatFormat.None));
    }

    private static ConfidenceScoringContext Context(string answer) =>
        ConfidenceScoringContext.FromResponse([new ChatMessage(ChatRole.User, "Q")], new ChatResponse(new ChatMessage(ChatRole.Assistant, answer)));

    [Fact]
    public async Task The_dummy_prefix_of_an_answer_encoded_alone_is_not_scored()
    {
        var (proxy, scorer) = Setup();
        var score = (await scorer.ScoreAsync(Context("+1")))!;
        // Joint encoding of "Q+1": [BOS, ▁, Q, +, 1]; the prompt "Q" is [BOS, ▁, Q], so exactly "+", "1" are scored (not ▁).
        proxy.Received(1).Score(Arg.Is<ScoreRequest>(s => s.From == 3 && s.Tokens.SequenceEqual(new[] { 1, 100, 'Q' + 10, '+' + 10, '1' + 10 })), Arg.Any<CancellationToken>());
        score.Tokens.Should().Be(2);
        score.Uncertainty.Should().BeApproximately(1.0, 1e-9);
        score.Details![ProxyModelConfidenceScorer.JoinMergedKey].Should().Be(false);
    }

    [Fact]
    public async Task A_token_merged_across_the_join_is_scored_whole_and_reported()
    {
        var (proxy, scorer) = Setup();
        var score = (await scorer.ScoreAsync(Context("4+1")))!;
        // Joint encoding of "Q4+1": [BOS, ▁, "Q4", +, 1]: the prompt's last token "Q" merged with the answer's "4"; the split
        // falls after the common prefix [BOS, ▁], and "Q4", "+", "1" are scored.
        proxy.Received(1).Score(Arg.Is<ScoreRequest>(s => s.From == 2 && s.Tokens.SequenceEqual(new[] { 1, 100, 500, '+' + 10, '1' + 10 })), Arg.Any<CancellationToken>());
        score.Tokens.Should().Be(3);
        score.Details![ProxyModelConfidenceScorer.JoinMergedKey].Should().Be(true);
        score.Details[ProxyModelConfidenceScorer.PromptCharsInAnswerKey].Should().Be(1);
        var meta = AttnEvalMetadata.Describe(new GateDecision(GateAction.Passed, score, score.Confidence, 0.5));
        meta.Should().Contain(new KeyValuePair<string, object?>("attneval.proxy_join_merged", true));
    }
}

public class ChatPromptFormatterTests
{
    private static readonly ChatMessage[] Conversation =
    [
        new(ChatRole.System, "S"), new(ChatRole.User, "u1"), new(ChatRole.Assistant, "a1"), new(ChatRole.User, "u2"),
    ];

    [Fact]
    public void Llama3_multi_turn()
    {
        new ChatPromptFormatter(ChatFormat.Llama3).Render(Conversation).Should().Be(
            "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nu1<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            + "a1<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nu2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    [Fact]
    public void Plain_text_single_turn_is_the_user_text()
    {
        new ChatPromptFormatter(ChatFormat.None).Render([new ChatMessage(ChatRole.User, "Question: 2+3?\nAnswer:")]).Should().Be("Question: 2+3?\nAnswer:");
        new ChatPromptFormatter(ChatFormat.None).Render(Conversation).Should().Be("S\n\nu1a1\nu2");
    }

    [Theory]
    [InlineData("{% for m in messages %}<|im_start|>{{m.role}}", ChatFormat.ChatMl)]
    [InlineData("{{ '<|start_header_id|>' + message['role'] }}", ChatFormat.Llama3)]
    [InlineData("[INST] {{ m }} [/INST]", ChatFormat.None)]
    [InlineData(null, ChatFormat.None)]
    public void Format_from_chat_template(string? template, ChatFormat expected) => ChatPromptFormatter.FromTemplate(template).Should().Be(expected);

    [Fact]
    public void Format_from_a_model_folder_and_a_clear_error_for_bad_json()
    {
        var dir = Directory.CreateTempSubdirectory("attneval-fmt").FullName;
        ChatPromptFormatter.FromModelFolder(dir).Should().Be(ChatFormat.None);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"chat_template\": \"<|im_start|>user\"}");
        ChatPromptFormatter.FromModelFolder(dir).Should().Be(ChatFormat.ChatMl);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\n  \"chat_template\": oops }");
        var act = () => ChatPromptFormatter.FromModelFolder(dir);
        act.Should().Throw<InvalidDataException>().WithMessage($"*tokenizer_config.json:2:*expected a JSON object*");
    }
}
