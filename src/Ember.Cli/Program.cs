using System.CommandLine;
using Ember.Cli;

return EmberCommandLine.Build().Parse(args).Invoke();
