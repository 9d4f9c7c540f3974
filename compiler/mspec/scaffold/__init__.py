"""`mspec init`: a first spec from a data file, each choice said in a comment, checked before it is written.

profile measures the file's columns in one streamed pass; kinds holds the
rules that turn those measures into uses (and the reasons for leaving a
column out); design lays out the spec; render writes it as TOML or JSON;
runner ties them together (`init_spec`) and checks the result with mspec
itself; command is the command line. Only profile needs numpy and pyarrow,
imported when a file is read.
"""
