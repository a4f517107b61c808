return AttnEval.Cli.Cli.Execute(args);
