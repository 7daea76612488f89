"""Prints the reference VADER 3.3.2 compound score of each text of a JSON list on stdin, as a JSON list."""
import json
import sys

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

analyzer = SentimentIntensityAnalyzer()
texts = json.load(sys.stdin)
json.dump([analyzer.polarity_scores(t)["compound"] for t in texts], sys.stdout)
