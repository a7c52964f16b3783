using Ember.Cli;

return EmberProgram.Run(args);
