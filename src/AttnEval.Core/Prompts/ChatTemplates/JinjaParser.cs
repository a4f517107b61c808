using System.Globalization;

namespace AttnEval.Core.Prompts.ChatTemplates;

/// <summary>Parses the Jinja subset that chat templates use: <c>if/elif/else</c>, <c>for … in … [if …]</c> with
/// <c>else</c> and tuple targets, <c>set</c> (names and namespace attributes), output, and expressions (literals, lists,
/// dicts, attribute/index/slice access, calls, filters, tests, arithmetic, <c>~</c>, comparisons, <c>in</c>,
/// <c>and/or/not</c>, conditional expressions). Anything else is refused with its position.</summary>
internal sealed class JinjaParser
{
    private readonly List<JinjaToken> _tokens;
    private int _i;

    private JinjaParser(List<JinjaToken> tokens) => _tokens = tokens;

    public static IReadOnlyList<Node> Parse(string template)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(template));
        var body = parser.ParseBody(out var stop);
        if (stop is not null) throw Error($"'{stop.Value.Value}' without an opening tag", stop.Value);
        return body;
    }

    private JinjaToken Peek(int ahead = 0) => _tokens[Math.Min(_i + ahead, _tokens.Count - 1)];

    private JinjaToken Next() => _tokens[_i++];

    private static ChatTemplateException Error(string what, JinjaToken at) =>
        new($"chat_template {at.Line}:{at.Column}: {what}", at.Line, at.Column);

    private bool IsOp(string op, int ahead = 0) => Peek(ahead) is { Kind: TokenKind.Operator } t && t.Value == op;

    private bool IsName(string name, int ahead = 0) => Peek(ahead) is { Kind: TokenKind.Name } t && t.Value == name;

    private JinjaToken Expect(TokenKind kind, string? value = null)
    {
        var t = Peek();
        if (t.Kind != kind || (value is not null && t.Value != value))
            throw Error($"expected {(value is null ? kind.ToString().ToLowerInvariant() : $"'{value}'")}, found {Describe(t)}", t);
        return Next();
    }

    private static string Describe(JinjaToken t) => t.Kind switch
    {
        TokenKind.End => "the end of the template",
        TokenKind.TagEnd => $"'{t.Value}'",
        TokenKind.String => "a string",
        _ => $"'{t.Value}'",
    };

    private static readonly HashSet<string> EndTags = ["elif", "else", "endif", "endfor"];

    /// <summary>Parses statements until the end or a block tag in <see cref="EndTags"/> (returned in <paramref name="stop"/>,
    /// positioned after the tag name).</summary>
    private List<Node> ParseBody(out JinjaToken? stop)
    {
        var nodes = new List<Node>();
        stop = null;
        while (true)
        {
            var t = Peek();
            switch (t.Kind)
            {
                case TokenKind.End:
                    return nodes;
                case TokenKind.Text:
                    nodes.Add(new TextNode(Next().Value));
                    break;
                case TokenKind.OutputStart:
                    Next();
                    nodes.Add(new OutputNode(ParseExpression()));
                    Expect(TokenKind.TagEnd, "}}");
                    break;
                case TokenKind.BlockStart:
                {
                    Next();
                    var tag = Expect(TokenKind.Name);
                    if (EndTags.Contains(tag.Value)) { stop = tag; return nodes; }
                    nodes.Add(tag.Value switch
                    {
                        "if" => ParseIf(t),
                        "for" => ParseFor(t),
                        "set" => ParseSet(t),
                        _ => throw Error($"the '{tag.Value}' tag is not supported (chat templates are read with if, for and set)", t),
                    });
                    break;
                }
                default:
                    throw Error($"unexpected {Describe(t)}", t);
            }
        }
    }

    private IfNode ParseIf(JinjaToken at)
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        var condition = ParseExpression();
        Expect(TokenKind.TagEnd, "%}");
        while (true)
        {
            var body = ParseBody(out var stop);
            branches.Add((condition, body));
            if (stop is null) throw Error("'if' is never closed with 'endif'", at);
            switch (stop.Value.Value)
            {
                case "elif":
                    condition = ParseExpression();
                    Expect(TokenKind.TagEnd, "%}");
                    continue;
                case "else":
                {
                    Expect(TokenKind.TagEnd, "%}");
                    var elseBody = ParseBody(out var end);
                    if (end is not { Value: "endif" }) throw Error("'if' is never closed with 'endif'", end ?? at);
                    Expect(TokenKind.TagEnd, "%}");
                    return new IfNode(branches, elseBody);
                }
                case "endif":
                    Expect(TokenKind.TagEnd, "%}");
                    return new IfNode(branches, null);
                default:
                    throw Error($"'{stop.Value.Value}' inside 'if'", stop.Value);
            }
        }
    }

    private ForNode ParseFor(JinjaToken at)
    {
        var targets = new List<string> { Expect(TokenKind.Name).Value };
        while (IsOp(",")) { Next(); targets.Add(Expect(TokenKind.Name).Value); }
        Expect(TokenKind.Name, "in");
        var iterable = ParseOr(allowConditional: false);
        Expr? filter = null;
        if (IsName("if")) { Next(); filter = ParseExpression(); }
        if (IsName("recursive")) throw Error("recursive loops are not supported", Peek());
        Expect(TokenKind.TagEnd, "%}");
        var body = ParseBody(out var stop);
        List<Node>? elseBody = null;
        if (stop is { Value: "else" })
        {
            Expect(TokenKind.TagEnd, "%}");
            elseBody = ParseBody(out stop);
        }
        if (stop is not { Value: "endfor" }) throw Error("'for' is never closed with 'endfor'", stop ?? at);
        Expect(TokenKind.TagEnd, "%}");
        return new ForNode(targets, iterable, filter, body, elseBody, at.Line, at.Column);
    }

    private SetNode ParseSet(JinjaToken at)
    {
        var name = Expect(TokenKind.Name).Value;
        string? attribute = null;
        if (IsOp(".")) { Next(); attribute = Expect(TokenKind.Name).Value; }
        if (!IsOp("=")) throw Error("block 'set' (without '=') is not supported", Peek());
        Next();
        var value = ParseExpression();
        Expect(TokenKind.TagEnd, "%}");
        return new SetNode(name, attribute, value, at.Line, at.Column);
    }

    public Expr ParseExpression() => ParseConditional();

    private Expr ParseConditional()
    {
        var start = Peek();
        var value = ParseOr(allowConditional: true);
        if (!IsName("if")) return value;
        Next();
        var condition = ParseOr(allowConditional: true);
        Expr? otherwise = null;
        if (IsName("else")) { Next(); otherwise = ParseConditional(); }
        return new ConditionalExpr(condition, value, otherwise, start.Line, start.Column);
    }

    private Expr ParseOr(bool allowConditional)
    {
        var left = ParseAnd();
        while (IsName("or")) { var t = Next(); left = new BinaryExpr("or", left, ParseAnd(), t.Line, t.Column); }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and")) { var t = Next(); left = new BinaryExpr("and", left, ParseNot(), t.Line, t.Column); }
        return left;
    }

    private Expr ParseNot()
    {
        if (IsName("not")) { var t = Next(); return new UnaryExpr("not", ParseNot(), t.Line, t.Column); }
        return ParseCompare();
    }

    private static readonly HashSet<string> CompareOps = ["==", "!=", "<", ">", "<=", ">="];

    private Expr ParseCompare()
    {
        var left = ParseAdditive();
        while (true)
        {
            var t = Peek();
            if (t.Kind == TokenKind.Operator && CompareOps.Contains(t.Value)) { Next(); left = new BinaryExpr(t.Value, left, ParseAdditive(), t.Line, t.Column); }
            else if (IsName("in")) { Next(); left = new BinaryExpr("in", left, ParseAdditive(), t.Line, t.Column); }
            else if (IsName("not") && IsName("in", 1)) { Next(); Next(); left = new BinaryExpr("not in", left, ParseAdditive(), t.Line, t.Column); }
            else return left;
        }
    }

    private Expr ParseAdditive()
    {
        var left = ParseConcat();
        while (IsOp("+") || IsOp("-")) { var t = Next(); left = new BinaryExpr(t.Value, left, ParseConcat(), t.Line, t.Column); }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMultiplicative();
        while (IsOp("~")) { var t = Next(); left = new BinaryExpr("~", left, ParseMultiplicative(), t.Line, t.Column); }
        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParsePower();
        while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) { var t = Next(); left = new BinaryExpr(t.Value, left, ParsePower(), t.Line, t.Column); }
        return left;
    }

    private Expr ParsePower()
    {
        var left = ParseUnary();
        while (IsOp("**")) { var t = Next(); left = new BinaryExpr("**", left, ParseUnary(), t.Line, t.Column); }
        return left;
    }

    private Expr ParseUnary()
    {
        if (IsOp("-") || IsOp("+")) { var t = Next(); return new UnaryExpr(t.Value, ParseUnary(), t.Line, t.Column); }
        return ParseFiltersAndTests(ParsePostfix(ParsePrimary()));
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.String:
            {
                var s = t.Value;
                while (Peek().Kind == TokenKind.String) s += Next().Value; // adjacent literals concatenate
                return new Literal(s, t.Line, t.Column);
            }
            case TokenKind.Number:
                return new Literal(t.Value.Contains('.')
                    ? (object)double.Parse(t.Value, CultureInfo.InvariantCulture)
                    : long.Parse(t.Value, CultureInfo.InvariantCulture), t.Line, t.Column);
            case TokenKind.Name:
                return t.Value switch
                {
                    "true" or "True" => new Literal(true, t.Line, t.Column),
                    "false" or "False" => new Literal(false, t.Line, t.Column),
                    "none" or "None" => new Literal(null, t.Line, t.Column),
                    _ => new NameExpr(t.Value, t.Line, t.Column),
                };
            case TokenKind.Operator when t.Value == "(":
            {
                var e = ParseExpression();
                if (IsOp(",")) throw Error("tuples are not supported", Peek());
                Expect(TokenKind.Operator, ")");
                return e;
            }
            case TokenKind.Operator when t.Value == "[":
            {
                var items = new List<Expr>();
                while (!IsOp("]"))
                {
                    items.Add(ParseExpression());
                    if (!IsOp("]")) Expect(TokenKind.Operator, ",");
                }
                Next();
                return new ListExpr(items, t.Line, t.Column);
            }
            case TokenKind.Operator when t.Value == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    var key = ParseExpression();
                    Expect(TokenKind.Operator, ":");
                    items.Add((key, ParseExpression()));
                    if (!IsOp("}")) Expect(TokenKind.Operator, ",");
                }
                Next();
                return new DictExpr(items, t.Line, t.Column);
            }
            default:
                throw Error($"expected a value, found {Describe(t)}", t);
        }
    }

    private Expr ParsePostfix(Expr target)
    {
        while (true)
        {
            var t = Peek();
            if (IsOp("."))
            {
                Next();
                var name = Peek();
                if (name.Kind is not (TokenKind.Name or TokenKind.Number)) throw Error($"expected an attribute name after '.', found {Describe(name)}", name);
                Next();
                target = name.Kind == TokenKind.Number
                    ? new IndexExpr(target, new Literal(long.Parse(name.Value, CultureInfo.InvariantCulture), name.Line, name.Column), t.Line, t.Column)
                    : new AttributeExpr(target, name.Value, t.Line, t.Column);
            }
            else if (IsOp("["))
            {
                Next();
                Expr? start = null, stop = null, step = null;
                bool slice = false;
                if (!IsOp(":")) start = ParseExpression();
                if (IsOp(":"))
                {
                    slice = true;
                    Next();
                    if (!IsOp(":") && !IsOp("]")) stop = ParseExpression();
                    if (IsOp(":")) { Next(); if (!IsOp("]")) step = ParseExpression(); }
                }
                Expect(TokenKind.Operator, "]");
                target = slice ? new SliceExpr(target, start, stop, step, t.Line, t.Column) : new IndexExpr(target, start!, t.Line, t.Column);
            }
            else if (IsOp("("))
            {
                var (args, kwargs) = ParseArguments();
                target = new CallExpr(target, args, kwargs, target.Line, target.Column);
            }
            else return target;
        }
    }

    private (List<Expr> Args, List<(string, Expr)> Kwargs) ParseArguments()
    {
        Expect(TokenKind.Operator, "(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (Peek().Kind == TokenKind.Name && IsOp("=", 1))
            {
                var name = Next().Value;
                Next();
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                if (kwargs.Count > 0) throw Error("a positional argument after a keyword argument", Peek());
                args.Add(ParseExpression());
            }
            if (!IsOp(")")) Expect(TokenKind.Operator, ",");
        }
        Next();
        return (args, kwargs);
    }

    private Expr ParseFiltersAndTests(Expr target)
    {
        while (true)
        {
            var t = Peek();
            if (IsOp("|"))
            {
                Next();
                var name = Expect(TokenKind.Name);
                List<Expr> args = [];
                List<(string, Expr)> kwargs = [];
                if (IsOp("(")) (args, kwargs) = ParseArguments();
                target = new FilterExpr(target, name.Value, args, kwargs, name.Line, name.Column);
            }
            else if (IsName("is"))
            {
                Next();
                bool negated = false;
                if (IsName("not")) { Next(); negated = true; }
                var name = Next();
                if (name.Kind != TokenKind.Name) throw Error($"expected a test name after 'is', found {Describe(name)}", name);
                var testName = name.Value switch { "None" => "none", "True" => "true", "False" => "false", var v => v };
                List<Expr> args = [];
                if (IsOp("(")) args = ParseArguments().Args;
                else if (Peek().Kind is TokenKind.String or TokenKind.Number) args = [ParsePrimary()];
                target = new TestExpr(target, testName, negated, args, name.Line, name.Column);
            }
            else return target;
        }
    }
}
